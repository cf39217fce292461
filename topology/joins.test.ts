/**
 * Stream-stream windowed joins, table-table joins, KTable filter/mapValues and global
 * tables, run in the topology test driver and checked against results computed here.
 */
import { describe, expect, it } from 'vitest';
import '../processors/index.js';
import { DLQ_HEADERS } from '../runtime/task/dead-letter.js';
import {
  describe as describeTopology,
  joinWindows,
  TopologyBuilder,
  TopologyError,
} from './index.js';
import { rng, useDriver } from '../test/support/driver.js';

const start = useDriver();

const J = { key: 'string', value: 'json' } as const;

interface Ev {
  side: 'L' | 'R';
  key: string;
  ts: number;
  id: string;
}

/** Records of both streams, time rising 0-`step` ms each, delivered out of order by up to `disorder`. */
function events(seed: number, count: number, step: number, disorder: number): Ev[] {
  const r = rng(seed);
  let t = 1_000_000;
  const made = Array.from({ length: count }, (_, i): Ev => {
    t += Math.floor(r() * step);
    const side = r() < 0.5 ? 'L' : 'R';
    return { side, key: `k${Math.floor(r() * 4)}`, ts: t, id: `${side}${i}` };
  });
  return made
    .map((e) => ({ e, at: e.ts + Math.floor(r() * (disorder + 1)) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.e);
}

/** What a windowed join gives: each pair once, and (left/outer) each unmatched record with null. */
function joinOracle(evs: Ev[], kind: 'inner' | 'left' | 'outer', before: number, after: number) {
  const out: string[] = [];
  const matched = new Set<string>();
  for (const l of evs.filter((e) => e.side === 'L'))
    for (const r of evs.filter((e) => e.side === 'R' && e.key === l.key))
      if (r.ts >= l.ts - before && r.ts <= l.ts + after) {
        out.push(`${l.key} ${l.id}+${r.id} @${Math.max(l.ts, r.ts)}`);
        matched.add(l.id).add(r.id);
      }
  for (const e of evs) {
    if (matched.has(e.id)) continue;
    if (e.side === 'L' && kind !== 'inner') out.push(`${e.key} ${e.id}+null @${e.ts}`);
    if (e.side === 'R' && kind === 'outer') out.push(`${e.key} null+${e.id} @${e.ts}`);
  }
  return out.sort();
}

describe('stream-stream windowed joins', () => {
  const before = 3_000;
  const after = 5_000;
  const grace = 2_000;

  function joined(kind: 'inner' | 'left' | 'outer') {
    const b = new TopologyBuilder('joins');
    const left = b.stream<string, { id: string }>('left', J, 'left');
    const right = b.stream<string, { id: string }>('right', J, 'right');
    const windows = joinWindows({ beforeMs: before, afterMs: after }, grace);
    const joiner = (l: { id: string } | null, r: { id: string } | null) =>
      `${l?.id ?? null}+${r?.id ?? null}`;
    const out =
      kind === 'inner'
        ? left.join(right, joiner, windows, { name: 'j' })
        : kind === 'left'
          ? left.leftJoin(right, joiner, windows, { name: 'j' })
          : left.outerJoin(right, joiner, windows, { name: 'j' });
    out.to('joined', J);
    return b.build('app');
  }

  async function run(
    kind: 'inner' | 'left' | 'outer',
    backend: 'memory' | 'leveldb',
    seed: number,
  ) {
    const evs = events(seed, 600, 1_500, grace);
    const d = await start(joined(kind), { backend });
    const inputs = { L: d.input('left', J), R: d.input('right', J) };
    for (const e of evs) await inputs[e.side].pipe(e.key, { id: e.id }, { timestamp: e.ts });
    const last = Math.max(...evs.map((e) => e.ts));
    await inputs.L.pipe('zz', { id: 'flush' }, { timestamp: last + 60_000 });
    const got = d
      .output<string, string>('joined', J)
      .readAll()
      .filter((r) => r.key !== 'zz')
      .map((r) => `${r.key} ${r.value} @${r.timestamp}`);
    return { got: got.sort(), want: joinOracle(evs, kind, before, after), d };
  }

  it.each([
    ['inner', 'memory'],
    ['left', 'memory'],
    ['outer', 'memory'],
    ['outer', 'leveldb'],
  ] as const)(
    '%s join: every pair within the windows once, unmatched records once their window closed (%s)',
    async (kind, backend) => {
      const { got, want, d } = await run(kind, backend, 17);
      expect(got).toEqual(want);
      expect(got.length).toBeGreaterThan(200);
      if (kind !== 'inner') expect(got.some((x) => x.includes('null'))).toBe(true);
      expect(d.deadLetters()).toEqual([]);
    },
  );

  it('a left join forwards no early null: an unmatched record waits until nothing can join it', async () => {
    const d = await start(joined('left'));
    const [l, r] = [d.input('left', J), d.input('right', J)];
    await l.pipe('a', { id: 'L1' }, { timestamp: 10_000 });
    // Past 10 000 + after + grace, where Kafka Streams 3.1+ forwards L1+null.
    await r.pipe('b', { id: 'R0' }, { timestamp: 18_000 });
    expect(d.output('joined', J).readKeyValues()).toEqual([]);
    // Still on time for its own window (14 000 + before + grace >= 18 000), and it joins L1.
    await r.pipe('a', { id: 'R1' }, { timestamp: 14_000 });
    expect(d.output('joined', J).readKeyValues()).toEqual([['a', 'L1+R1']]);
    await r.pipe('b', { id: 'R2' }, { timestamp: 30_000 }); // everything before is final now
    await l.pipe('c', { id: 'L2' }, { timestamp: 30_000 });
    await r.pipe('b', { id: 'R3' }, { timestamp: 50_000 });
    expect(d.output('joined', J).readKeyValues()).toEqual([['c', 'L2+null']]);
  });

  it('a record whose window has closed is late; keys with different serdes do not build', async () => {
    const d = await start(joined('inner'));
    const [l, r] = [d.input('left', J), d.input('right', J)];
    await l.pipe('a', { id: 'L1' }, { timestamp: 100_000 });
    await r.pipe('a', { id: 'R1' }, { timestamp: 100_000 - before - grace - 1 });
    expect(d.deadLetters().map((x) => x.headers[DLQ_HEADERS.reason])).toEqual(['late']);
    const b = new TopologyBuilder('bad');
    b.stream('x', { key: 'string', value: 'json' }).join(
      b.stream('y', { key: 'json', value: 'json' }),
      (a, c) => [a, c],
      joinWindows(1_000),
      { name: 'xy' },
    );
    expect(() => b.build()).toThrow(TopologyError);
    expect(() => b.build()).toThrow(/join "xy": the two sides' keys have different serdes/);
  });

  it('a side whose keys changed is repartitioned first; both window stores are changelogged', () => {
    const b = new TopologyBuilder('rekey');
    const clicks = b.stream<string, { user: string }>('clicks', J, 'clicks');
    const views = b.stream<string, { user: string }>('views', J, 'views');
    clicks
      .selectKey((r) => r.value.user, 'by-user')
      .join(views, (c, v) => ({ c, v }), joinWindows(60_000), { name: 'cv' })
      .to('out', J);
    const t = b.build('app');
    expect(
      t.internalTopics().map((i) => `${i.kind} ${i.name} ${i.config['cleanup.policy'] ?? ''}`),
    ).toEqual([
      'repartition by-user-repartition delete',
      'changelog cv-left-store-changelog compact,delete',
      'changelog cv-right-store-changelog compact,delete',
    ]);
    expect(t.subtopologies.map((s) => s.stores)).toEqual([[], ['cv-left-store', 'cv-right-store']]);
  });
});

type Row = { country: string } | null;

describe('table-table joins, filter and mapValues', () => {
  /** Random upserts and deletes of two tables' keys. */
  function changes(seed: number, n: number) {
    const r = rng(seed);
    return Array.from({ length: n }, (_, i) => ({
      side: r() < 0.5 ? ('users' as const) : ('scores' as const),
      key: `u${Math.floor(r() * 8)}`,
      value: r() < 0.25 ? null : i,
    }));
  }

  it.each(['inner', 'left', 'outer'] as const)(
    '%s join: each change of either table gives the key’s new joined row, or null when it leaves the result',
    async (kind) => {
      const b = new TopologyBuilder('tt');
      const users = b.table<string, number>('users', J, { name: 'users' });
      const scores = b.table<string, number>('scores', J, { name: 'scores' });
      const joiner = (u: number | null, s: number | null) => `${u}/${s}`;
      const t =
        kind === 'inner'
          ? users.join(scores, joiner, 'j')
          : kind === 'left'
            ? users.leftJoin(scores, joiner, 'j')
            : users.outerJoin(scores, joiner, 'j');
      t.toStream().to('joined', J);
      // The joined table is a table: a stream can look it up.
      b.stream<string, string>('asks', J, 'asks')
        .leftJoin(t, (_ask, row) => row, 'ask')
        .to('answers', J);
      const d = await start(b.build('app'));
      const tables = { users: new Map<string, number>(), scores: new Map<string, number>() };
      const inResult = (u: boolean, s: boolean) =>
        kind === 'inner' ? u && s : kind === 'left' ? u : u || s;
      const want: Array<[string, string | null]> = [];
      for (const c of changes(5, 400)) {
        const map = tables[c.side];
        const had = map.has(c.key);
        if (c.value === null && !had) {
          await d.input(c.side, J).pipe(c.key, null);
          continue; // a delete of nothing changes nothing
        }
        const before = inResult(tables.users.has(c.key), tables.scores.has(c.key));
        if (c.value === null) map.delete(c.key);
        else map.set(c.key, c.value);
        const [u, s] = [tables.users.get(c.key) ?? null, tables.scores.get(c.key) ?? null];
        if (inResult(u !== null, s !== null)) want.push([c.key, joiner(u, s)]);
        else if (before) want.push([c.key, null]);
        await d.input(c.side, J).pipe(c.key, c.value);
      }
      expect(d.output<string, string | null>('joined', J).readKeyValues()).toEqual(want);
      for (let i = 0; i < 8; i++) await d.input('asks', J).pipe(`u${i}`, 'ask');
      const [u, s] = [tables.users, tables.scores];
      expect(d.output('answers', J).readKeyValues()).toEqual(
        Array.from({ length: 8 }, (_, i) => {
          const k = `u${i}`;
          return [
            k,
            inResult(u.has(k), s.has(k)) ? joiner(u.get(k) ?? null, s.get(k) ?? null) : null,
          ];
        }),
      );
    },
  );

  it('filter and mapValues: changes become deletes when filtered out, and lookups see the derived rows', async () => {
    const b = new TopologyBuilder('derived');
    const users = b.table<string, { country: string; age: number }>('users', J, { name: 'users' });
    const adults = users
      .filter((u) => u.age >= 18, 'adults')
      .mapValues((u) => u.country, 'country');
    adults.toStream().to('adult-countries', J);
    b.stream<string, string>('visits', J, 'visits')
      .join(adults, (visit, country) => `${visit}@${country}`, 'where')
      .to('visits-where', J);
    const d = await start(b.build('app'));
    const u = d.input('users', J);
    await u.pipe('ann', { country: 'NO', age: 30 });
    await u.pipe('bob', { country: 'SE', age: 12 });
    await u.pipe('ann', { country: 'DK', age: 31 });
    await u.pipe('bob', { country: 'SE', age: 18 });
    await u.pipe('ann', { country: 'DK', age: 17 }); // a correction: no longer an adult
    await u.pipe('cid', null); // a delete of nothing: no change
    expect(d.output('adult-countries', J).readKeyValues()).toEqual([
      ['ann', 'NO'],
      ['bob', null],
      ['ann', 'DK'],
      ['bob', 'SE'],
      ['ann', null],
    ]);
    const v = d.input('visits', J);
    for (const who of ['ann', 'bob', 'cid']) await v.pipe(who, '/home');
    expect(d.output('visits-where', J).readKeyValues()).toEqual([['bob', '/home@SE']]);
  });

  it('tables whose keys have different serdes do not join', () => {
    const b = new TopologyBuilder('bad');
    const a = b.table('a', { key: 'string', value: 'json' });
    const c = b.table<string, Row>('c', { key: 'bytes', value: 'json' });
    a.join(c as never, (x, y) => [x, y], 'ac');
    expect(() => b.build()).toThrow(/join "ac": the tables' keys have different serdes/);
  });
});

describe('global tables', () => {
  interface Order {
    sku: string;
    n: number;
  }

  function enrich(kind: 'join' | 'leftJoin') {
    const b = new TopologyBuilder('orders');
    const products = b.globalTable<string, { name: string }>('products', J, { name: 'products' });
    const orders = b.stream<string, Order>('orders', J, 'orders');
    const joiner = (o: Order, p: { name: string } | null) => `${o.n} x ${p?.name ?? '?'}`;
    (kind === 'join'
      ? orders.join(products, (_k, o) => o.sku, joiner, 'with-product')
      : orders.leftJoin(products, (_k, o) => o.sku, joiner, 'with-product')
    ).to('enriched', J);
    return b.build('app');
  }

  it('is a global store of its own: no task, no changelog, shown in describe()', () => {
    const t = enrich('join');
    expect(t.subtopologies.map((s) => s.nodes)).toEqual([['orders', 'with-product', 'sink-1']]);
    expect(t.subtopologies[0]!.stores).toEqual([]);
    expect(t.globals.map((g) => [g.store, g.topic])).toEqual([['products-store', 'products']]);
    expect(t.internalTopics()).toEqual([]);
    expect(describeTopology(t)).toContain(
      [
        '   Global store: products-store (read in full by every instance; no tasks)',
        '    Source: products-source (topics: [products])',
        '      --> products',
        '    Processor: products (stores: [products-store])',
        '      --> none',
        '      <-- products-source',
      ].join('\n'),
    );
  });

  it.each([
    ['join', ['ann', '2 x pen'], ['bob', '1 x ink']],
    ['leftJoin', ['ann', '2 x pen'], ['bob', '1 x ink'], ['cid', '5 x ?']],
  ] as const)(
    '%s on a key computed from the record, whatever the stream is keyed by',
    async (kind, ...want) => {
      const d = await start(enrich(kind), { backend: 'leveldb' });
      const products = d.input('products', J);
      await products.pipe('p1', { name: 'pen' });
      await products.pipe('p2', { name: 'ink' });
      await products.pipe('p3', { name: 'cap' });
      await products.pipe('p3', null); // deleted
      const orders = d.input<string, Order>('orders', J);
      await orders.pipe('ann', { sku: 'p1', n: 2 });
      await orders.pipe('bob', { sku: 'p2', n: 1 });
      await orders.pipe('cid', { sku: 'p3', n: 5 });
      expect(d.output('enriched', J).readKeyValues()).toEqual(want);
      expect(d.keyValueStore('products-store').get('p1')).toEqual({ name: 'pen' });
    },
  );

  it('build errors: a global source feeding anything but its table, a global-table node not under a global source', () => {
    const b = new TopologyBuilder('bad');
    b.globalTable('products', J, { name: 'products' });
    b.stream('x', J).process('global-table', {
      name: 'stray',
      options: { store: 'products-store' },
    });
    expect(() => b.build()).toThrow(
      /global-table node "stray" must be the child of a global source/,
    );
  });
});
