/**
 * Tables and stream-table joins, merge, reduce and groupBy of the builder, run in the
 * topology test driver (the engine and store stack of the runtime, no broker).
 */
import { describe, expect, it } from 'vitest';
import '../processors/index.js';
import { TopologyTestDriver } from '../runtime/testing/driver.js';
import { TopologyBuilder } from './builder.js';
import { buildTopology } from './build.js';
import { parseTopology } from './yaml.js';
import { TopologyError } from './errors.js';
import { useDriver } from '../test/support/driver.js';

const start = useDriver();

const J = { key: 'string', value: 'json' };
const values = (o: { readAll(): Array<{ value: unknown }> }) => o.readAll().map((r) => r.value);

interface Click {
  page: string;
}
interface User {
  country: string;
}

function enrich(kind: 'join' | 'leftJoin') {
  const b = new TopologyBuilder('enrich');
  const users = b.table<string, User>('users', J, { name: 'users' });
  const clicks = b.stream<string, Click>('clicks', J, 'clicks');
  const joiner = (c: Click, u: User | null, key: string) => ({
    user: key,
    page: c.page,
    country: u?.country ?? null,
  });
  (kind === 'join' ? clicks.join(users, joiner) : clicks.leftJoin(users, joiner)).to('enriched', J);
  return b.build('enrich');
}

/** A users table, and clicks joined to it by the stream-table-join node `join` (YAML). */
const usersJoin = (join: string) =>
  buildTopology(
    parseTopology(`
version: 1
nodes:
  - { source: users-source, topics: [users], keySerde: string, valueSerde: json }
  - { processor: users, type: table, parents: [users-source], options: { store: users } }
  - { source: clicks, topics: [clicks], keySerde: string, valueSerde: json }
  - ${join}
  - { sink: out, topic: enriched, parents: [join], keySerde: string, valueSerde: json }
`),
  );

describe('stream-table join', () => {
  it.each(['memory', 'leveldb'] as const)(
    'an inner join enriches records whose key the table holds, with the value current then (%s)',
    async (backend) => {
      const d = await start(enrich('join'), { backend });
      const users = d.input('users', J);
      const clicks = d.input('clicks', J);
      await clicks.pipe('ann', { page: '/a' }); // the table is empty: no output
      await users.pipe('ann', { country: 'NO' });
      await users.pipe('bob', { country: 'FR' });
      await clicks.pipe('ann', { page: '/b' });
      await clicks.pipe('bob', { page: '/c' });
      await clicks.pipe('cid', { page: '/d' }); // no such user
      await users.pipe('ann', { country: 'SE' }); // an update: later clicks see it
      await clicks.pipe('ann', { page: '/e' });
      await users.pipe('bob', null); // a tombstone deletes bob
      await clicks.pipe('bob', { page: '/f' });
      await clicks.pipe(null, { page: '/g' }); // no key joins nothing
      expect(values(d.output('enriched', J))).toEqual([
        { user: 'ann', page: '/b', country: 'NO' },
        { user: 'bob', page: '/c', country: 'FR' },
        { user: 'ann', page: '/e', country: 'SE' },
      ]);
      expect(d.keyValueStore('users-store').get('ann')).toEqual({ country: 'SE' });
      expect(d.keyValueStore('users-store').get('bob')).toBeUndefined();
    },
  );

  it('a left join passes every keyed record on, with null for keys the table lacks', async () => {
    const d = await start(enrich('leftJoin'));
    await d.input('users', J).pipe('ann', { country: 'NO' });
    const clicks = d.input('clicks', J);
    await clicks.pipe('ann', { page: '/a' });
    await clicks.pipe('cid', { page: '/b' });
    await clicks.pipe('cid', null); // a null value joins nothing, as in Kafka Streams
    expect(values(d.output('enriched', J))).toEqual([
      { user: 'ann', page: '/a', country: 'NO' },
      { user: 'cid', page: '/b', country: null },
    ]);
  });

  it('the table and the stream are one sub-topology (co-partitioned), the table changelogged', () => {
    const t = enrich('join');
    expect(t.subtopologies.map((s) => [s.sourceTopics, s.stores])).toEqual([
      [['users', 'clicks'], ['users-store']],
    ]);
    expect(t.internalTopics().map((x) => [x.name, x.config])).toEqual([
      ['users-store-changelog', { 'cleanup.policy': 'compact' }],
    ]);
  });

  it('a re-keyed stream is repartitioned before it joins; the repartition topic joins the table sub-topology', async () => {
    const b = new TopologyBuilder('rekey-join');
    const users = b.table<string, User>('users', J, { name: 'users' });
    b.stream<string, { user: string; page: string }>('clicks', J, 'clicks')
      .selectKey((r) => r.value.user, 'by-user')
      .join(users, (c, u) => ({ ...c, country: u.country }), 'join')
      .to('enriched', J);
    const t = b.build('rk');
    expect(t.subtopologies.map((s) => s.sourceTopics)).toEqual([
      ['users', 'by-user-repartition'],
      ['clicks'],
    ]);
    const d = await start(t);
    await d.input('users', J).pipe('ann', { country: 'NO' });
    await d.input('clicks', J).pipe('click-1', { user: 'ann', page: '/x' });
    await d.input('clicks', J).pipe('click-2', { user: 'zed', page: '/y' });
    expect(d.output('enriched', J).readKeyValues()).toEqual([
      ['ann', { user: 'ann', page: '/x', country: 'NO' }],
    ]);
  });

  it('a table followed as a stream: each change, and null when a key is deleted', async () => {
    const b = new TopologyBuilder();
    b.table('users', J, { name: 'users' }).toStream().to('user-changes', J);
    const d = await start(b.build());
    const users = d.input('users', J);
    await users.pipe('ann', { country: 'NO' });
    await users.pipe('zed', null); // deleting a key that is not there changes nothing
    await users.pipe('ann', null);
    expect(d.output('user-changes', J).readKeyValues()).toEqual([
      ['ann', { country: 'NO' }],
      ['ann', null],
    ]);
  });

  it('in YAML: a table node and a join node naming its store; without a joiner, both values side by side', async () => {
    const t = usersJoin(
      '{ processor: join, type: stream-table-join, parents: [clicks], options: { store: users, kind: left }, stores: [users] }',
    );
    const d = await start(t);
    await d.input('users').pipe('ann', { country: 'NO' });
    await d.input('clicks').pipe('ann', { page: '/a' });
    await d.input('clicks').pipe('bob', { page: '/b' });
    expect(values(d.output('enriched'))).toEqual([
      { left: { page: '/a' }, right: { country: 'NO' } },
      { left: { page: '/b' }, right: null },
    ]);
  });

  it('a join node that does not list the store fails when its task starts, naming the store', async () => {
    const t = usersJoin(
      '{ processor: join, type: stream-table-join, parents: [clicks], options: { store: users } }',
    );
    await expect(TopologyTestDriver.create(t)).rejects.toThrow(
      /stream-table-join "join": store "users" is not among the node's stores; list it in the node's stores/,
    );
  });

  it('a store shared across a repartition topic is a build error naming the store and the topic', () => {
    const b = new TopologyBuilder();
    const users = b.table<string, unknown>('users', J, { name: 'users' });
    const s = b.stream<string, { user: string }>('clicks', J, 'clicks');
    s.leftJoin(users, (c) => c, 'early').to('early-out', J);
    s.selectKey((r) => r.value.user, 'rekey')
      .repartition(J, 'rekey')
      .process('stream-table-join', {
        name: 'late',
        options: { store: 'users-store' },
        stores: ['users-store'],
      })
      .to('late-out', J);
    let err: unknown;
    try {
      b.build();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TopologyError);
    expect((err as TopologyError).code).toBe('STORE_SHARED_ACROSS_SUBTOPOLOGIES');
    expect(String(err)).toMatch(
      /store "users-store" is used by .* on the two sides of topic "rekey-repartition"/,
    );
  });
});

describe('merge, reduce, groupBy', () => {
  it('merge forwards both streams; a later count counts both', async () => {
    const b = new TopologyBuilder();
    const a = b.stream('a', { key: 'string', value: 'string' }, 'a');
    const c = b.stream('c', { key: 'string', value: 'string' }, 'c');
    a.merge(c, 'both')
      .groupByKey()
      .count({ name: 'n' })
      .to('counts', { key: 'string', value: 'int64' });
    const t = b.build();
    expect(t.subtopologies.map((s) => s.sourceTopics)).toEqual([['a', 'c']]);
    const d = await start(t);
    await d.input('a').pipe('k', 'x');
    await d.input('c').pipe('k', 'y');
    await d.input('a').pipe('j', 'z');
    expect(d.output('counts').readKeyValues()).toEqual([
      ['k', 1],
      ['k', 2],
      ['j', 1],
    ]);
  });

  it('reduce keeps the first value, then reducer(aggregate, value); null values change nothing', async () => {
    const b = new TopologyBuilder();
    b.stream<string, { price: number }>('trades', J)
      .groupByKey()
      .reduce((hi, t) => (t.price > hi.price ? t : hi), { name: 'high' })
      .to('highs', J);
    const d = await start(b.build());
    const trades = d.input('trades');
    for (const p of [10, 8, 12, 11]) await trades.pipe('AAPL', { price: p });
    await trades.pipe('AAPL', null);
    await trades.pipe('MSFT', null); // no aggregate yet: nothing stored, nothing emitted
    await trades.pipe('MSFT', { price: 3 });
    expect(d.output('highs').readKeyValues()).toEqual([
      ['AAPL', { price: 10 }],
      ['AAPL', { price: 10 }],
      ['AAPL', { price: 12 }],
      ['AAPL', { price: 12 }],
      ['MSFT', { price: 3 }],
    ]);
    expect(d.keyValueStore('high-store').get('AAPL')).toEqual({ price: 12 });
  });

  it('groupBy re-keys through a repartition topic, then aggregates', async () => {
    const b = new TopologyBuilder();
    b.stream<string, { user: string }>('clicks', J)
      .groupBy((r) => r.value.user, undefined, 'by-user')
      .count({ name: 'per-user' })
      .to('per-user', { key: 'string', value: 'int64' });
    const t = b.build();
    expect(t.subtopologies.map((s) => s.sourceTopics)).toEqual([
      ['clicks'],
      ['by-user-repartition'],
    ]);
    const d = await start(t);
    for (const [k, u] of [
      ['c1', 'ann'],
      ['c2', 'bob'],
      ['c3', 'ann'],
    ])
      await d.input('clicks').pipe(k, { user: u });
    expect(d.output('per-user').readKeyValues()).toEqual([
      ['ann', 1],
      ['bob', 1],
      ['ann', 2],
    ]);
  });
});
