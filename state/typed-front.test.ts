/**
 * The typed cache of key-value stores with primitive keys and values (state/typed-front.ts),
 * seen from the store: reads, writes and the changelog are what the caching layer gave, and
 * the first object key or value hands the store back to the caching layer with nothing lost.
 */
import { describe, expect, it } from 'vitest';
import { int64Serde, jsonSerde, openKeyValueStore, stringSerde, type Serde } from './index.js';
import { collect, kvOptions, useTempDir } from '../test/support/stores.js';

const root = useTempDir('millrace-typed-front-');
let tasks = 0;

describe.each(['memory', 'leveldb'] as const)('typed cache on %s', (backend) => {
  let now = 1000;
  const open = <K, V>(keySerde: Serde<K>, valueSerde: Serde<V>, cacheMaxEntries = 1000) =>
    openKeyValueStore<K, V>(
      { name: 'kv', kind: 'keyValue', keySerde, valueSerde, logged: true, cache: true },
      {
        applicationId: 'app',
        taskId: `0_${tasks++}`,
        stateDir: root,
        backend,
        cacheMaxEntries,
        currentTimestamp: () => now,
      },
    );
  const front = (s: object) => (s as { front?: unknown }).front;

  it('collapses the writes of a key between flushes into one changelog record, the latest', async () => {
    const s = await open(stringSerde, int64Serde);
    expect(front(s)).toBeDefined();
    for (let i = 1; i <= 5; i++) {
      now = 1000 + i;
      s.put('a', (s.get('a') ?? 0) + 1);
    }
    s.put('b', 7);
    expect(s.delete('b')).toBe(7);
    expect(s.get('b')).toBeUndefined();
    await s.flush();
    const log = s.drainChangelog();
    expect(log.map((r) => [r.key.toString(), r.value && int64Serde.deserialize(r.value)])).toEqual([
      ['a', 5],
      ['b', null],
    ]);
    expect(log[0]!.timestamp).toBe(1005);
    expect(s.get('a')).toBe(5);
    expect(await collect(s.all())).toEqual([{ key: 'a', value: 5 }]);
    await s.close();
  });

  it('reads what earlier flushes wrote, and a put that fails to serialize changes nothing', async () => {
    const s = await open(stringSerde, int64Serde, 10);
    for (let i = 0; i < 100; i++) s.put(`k${i}`, i);
    await s.flush();
    for (let i = 0; i < 100; i++) expect(s.get(`k${i}`)).toBe(i);
    expect(() => s.put('k1', 1.5)).toThrow(/safe integers/);
    expect(s.get('k1')).toBe(1);
    await s.flush();
    expect(s.drainChangelog().length).toBe(100);
    await s.close();
  });

  it('discards uncommitted writes: reads see what was flushed', async () => {
    const s = await open(stringSerde, int64Serde);
    s.put('x', 1);
    await s.flush();
    s.drainChangelog();
    s.put('x', 2);
    s.put('y', 3);
    s.discardUncommitted();
    expect(s.get('x')).toBe(1);
    expect(s.get('y')).toBeUndefined();
    await s.flush();
    expect(s.drainChangelog()).toEqual([]);
    await s.close();
  });

  it('counts hits and misses for the cache metrics', async () => {
    const hits: number[] = [];
    const s = await openKeyValueStore<string, number>(kvOptions(), {
      applicationId: 'app',
      taskId: `0_${tasks++}`,
      stateDir: root,
      backend,
      metrics: { cacheAccess: () => {}, cacheAccesses: (_s, h, m) => hits.push(h, m) },
    });
    s.get('a'); // miss
    s.put('a', 1);
    s.get('a'); // hit
    s.get('a'); // hit
    await s.flush();
    expect(hits).toEqual([2, 1]);
    await s.close();
  });

  it('an object value hands the store to the caching layer, keeping every value', async () => {
    const s = await open<string, unknown>(stringSerde, jsonSerde);
    s.put('n', 1);
    s.put('s', 'text');
    expect(front(s)).toBeDefined();
    const obj = { a: 1 };
    s.put('o', obj);
    expect(front(s)).toBeUndefined();
    obj.a = 2; // changed after the put: the store keeps what was put
    expect(s.get('o')).toEqual({ a: 1 });
    expect(s.get('n')).toBe(1);
    s.put('n', 2);
    await s.flush();
    const log = s.drainChangelog().map((r) => [r.key.toString(), r.value?.toString()]);
    expect(log).toEqual([
      ['n', '1'],
      ['s', '"text"'],
      ['n', '2'],
      ['o', '{"a":1}'],
    ]);
    expect(await collect(s.all())).toEqual([
      { key: 'n', value: 2 },
      { key: 'o', value: { a: 1 } },
      { key: 's', value: 'text' },
    ]);
    await s.close();
  });

  it('an object value read hands the store back too (nobody can change what it caches)', async () => {
    if (backend === 'memory') return; // needs the data of an earlier open
    const taskId = `0_${tasks++}`;
    const openAt = () =>
      openKeyValueStore<string, unknown>(
        {
          name: 'kv',
          kind: 'keyValue',
          keySerde: stringSerde,
          valueSerde: jsonSerde,
          logged: true,
          cache: true,
        },
        { applicationId: 'app', taskId, stateDir: root, backend },
      );
    const first = await openAt();
    first.put('o', { a: 1 });
    first.put('n', 5);
    await first.flush();
    await first.close();
    const s = await openAt();
    expect(s.get('n')).toBe(5);
    expect(front(s)).toBeDefined();
    const got = s.get('o') as { a: number };
    expect(front(s)).toBeUndefined();
    expect(got).toEqual({ a: 1 });
    got.a = 99;
    expect(s.get('o')).toEqual({ a: 1 });
    expect(s.get('n')).toBe(5);
    await s.close();
  });

  it('an object key hands the store back', async () => {
    const s = await open<unknown, number>(jsonSerde, int64Serde);
    s.put('k', 1);
    s.put({ id: 1 }, 2);
    expect(front(s)).toBeUndefined();
    expect(s.get('k')).toBe(1);
    expect(s.get({ id: 1 })).toBe(2);
    await s.flush();
    expect(s.drainChangelog().length).toBe(2);
    await s.close();
  });
});
