/**
 * The write cache, measured by what reaches the backend and the changelog; on both backends.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  bytesSerde,
  int64Serde,
  openKeyValueStore,
  openWindowStore,
  stringSerde,
  type StoreContext,
  type StoreMetrics,
} from './index.js';
import { collect, kvOptions, useTempDir } from '../test/support/stores.js';

const root = useTempDir('millrace-cache-');
let tasks = 0;

const backendWrites = (s: object) => (s as { backendWrites: number }).backendWrites;

describe.each(['memory', 'leveldb'] as const)('write cache on %s', (backend) => {
  const open = (cache = true, extra: Partial<StoreContext> = {}) =>
    openKeyValueStore(kvOptions({ cache }), {
      applicationId: 'app',
      taskId: `1_${tasks++}`,
      stateDir: root,
      backend,
      ...extra,
    });

  it('collapses 1000 puts to 10 keys into 10 backend writes and 10 changelog records', async () => {
    const s = await open();
    for (let i = 0; i < 1000; i++) s.put(`k${i % 10}`, i);
    expect(backendWrites(s)).toBe(0);
    expect(s.drainChangelog()).toEqual([]);
    await s.flush();
    const log = s.drainChangelog();
    expect(log.length).toBe(10);
    expect(backendWrites(s)).toBe(10);
    expect(log.map((r) => int64Serde.deserialize(r.value!)).sort((a, b) => a - b)).toEqual([
      990, 991, 992, 993, 994, 995, 996, 997, 998, 999,
    ]);
    await s.flush(); // nothing dirty: nothing written
    expect(backendWrites(s)).toBe(10);
    await s.close();
  });

  it('without a cache, every put goes straight through: 1000 backend writes and records', async () => {
    const s = await open(false);
    for (let i = 0; i < 1000; i++) s.put(`k${i % 10}`, i);
    expect(backendWrites(s)).toBe(1000);
    expect(s.drainChangelog().length).toBe(1000);
    await s.flush();
    expect(s.get('k9')).toBe(999);
    await s.close();
  });

  it('merges dirty entries into range scans; cached deletes hide backend entries', async () => {
    const s = await open();
    for (const k of ['a', 'c', 'e', 'g']) s.put(k, 1);
    await s.flush();
    s.put('b', 2); // new, dirty
    s.put('e', 2); // overwrite, dirty
    s.delete('c'); // delete of a backend entry
    s.delete('zz'); // delete of nothing
    s.put('h', 2); // after every backend key
    const all = (await collect(s.all())).map((e) => `${e.key}=${e.value}`);
    expect(all).toEqual(['a=1', 'b=2', 'e=2', 'g=1', 'h=2']);
    expect((await collect(s.range('b', 'e'))).map((e) => e.key)).toEqual(['b', 'e']);
    await s.flush();
    expect((await collect(s.all())).map((e) => `${e.key}=${e.value}`)).toEqual(all);
    await s.close();
  });

  it('a scan sees the state as of its start while the processor keeps writing', async () => {
    const s = await open();
    for (let i = 0; i < 20; i++) s.put(`k${String(i).padStart(2, '0')}`, i);
    await s.flush();
    s.put('k05', 500);
    const seen: string[] = [];
    for await (const e of s.all()) {
      seen.push(`${e.key}=${e.value}`);
      s.put('k10', -1);
      s.put('k15b', 1);
    }
    expect(seen.length).toBe(20);
    expect(seen[5]).toBe('k05=500');
    expect(s.get('k10')).toBe(-1);
    await s.close();
  });

  it('stays within its bound by writing dirty entries behind, losing none', async () => {
    const s = await open(true, { cacheMaxEntries: 100 });
    for (let i = 0; i < 1000; i++) s.put(`k${i}`, i);
    // The store's cache: the typed one (primitive keys and values), else the caching layer.
    type Cache = { size: number; earlyWrites: number };
    const store = s as unknown as { front?: Cache; layer: Cache };
    const size = store.front ?? store.layer;
    expect(size.size).toBeLessThanOrEqual(100);
    expect(size.earlyWrites).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i += 97) expect(s.get(`k${i}`)).toBe(i);
    expect((await collect(s.all())).length).toBe(1000);
    await s.flush();
    const log = s.drainChangelog();
    expect(new Set(log.map((r) => r.key.toString())).size).toBe(1000);
    expect(log.length).toBe(1000);
    await s.close();
  });

  it('a small cache on a window store writes behind too; fetches and fetchAll see everything', async () => {
    const w = await openWindowStore(
      {
        name: 'w',
        kind: 'window',
        keySerde: stringSerde,
        valueSerde: int64Serde,
        logged: true,
        cache: true,
        retentionMs: 3_600_000,
        segmentMs: 60_000,
      },
      {
        applicationId: 'app',
        taskId: `1_${tasks++}`,
        stateDir: root,
        backend,
        cacheMaxEntries: 50,
      },
    );
    for (let i = 0; i < 500; i++) w.put(`s${i % 5}`, i, i * 1000);
    for (let i = 0; i < 500; i += 37) expect(w.fetch(`s${i % 5}`, i * 1000)).toBe(i);
    expect((await collect(w.fetchAll(0, 500_000))).map((x) => x.value)).toEqual(
      Array.from({ length: 500 }, (_, i) => i),
    );
    expect((await collect(w.fetchRange('s3', 0, 500_000))).length).toBe(100);
    await w.flush();
    expect(w.drainChangelog().length).toBe(500);
    await w.close();
  });

  it('refuses to flush once closed', async () => {
    const s = await open();
    await s.close();
    s.put('b', 2);
    await expect(s.flush()).rejects.toMatchObject({
      code: 'STORE_CLOSED',
      message: /"kv".*closed/,
    });
  });

  it.runIf(backend === 'leveldb')(
    'a failed backend write surfaces at the next flush as a StateStoreError',
    async () => {
      const s = await open();
      s.put('a', 1);
      await s.flush();
      // White box: the database goes away underneath the store.
      await (
        s as unknown as { stack: { backend: { db: { close(): Promise<void> } } } }
      ).stack.backend.db.close();
      s.put('b', 2);
      await expect(s.flush()).rejects.toMatchObject({
        name: 'StateStoreError',
        code: 'STORE_WRITE_FAILED',
        domain: 'external',
        message: expect.stringMatching(
          /LevelDB store at .*kv failed.*restore its state from the changelog/,
        ),
      });
      await s.close();
    },
  );

  it.runIf(backend === 'leveldb')(
    "keeps no caller's Buffer after a flush: a cached key or value does not pin the memory it was sliced from",
    async () => {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const s = await openKeyValueStore(
        {
          name: 'kv',
          kind: 'keyValue',
          keySerde: bytesSerde,
          valueSerde: bytesSerde,
          logged: true,
          cache: true,
        },
        { applicationId: 'app', taskId: `1_${tasks++}`, stateDir: root, backend },
      );
      // Like Node's pool: small Buffers that are slices of one larger ArrayBuffer.
      const slab = (): WeakRef<ArrayBuffer> => {
        const memory = new ArrayBuffer(1 << 20);
        for (let i = 0; i < 100; i++) {
          const key = Buffer.from(memory, i * 16, 8).fill(i);
          s.get(key); // a cached miss
          s.put(key, Buffer.from(memory, i * 16 + 8, 8).fill(255 - i));
        }
        return new WeakRef(memory);
      };
      const ref = slab();
      await s.flush();
      s.drainChangelog();
      await new Promise((r) => setTimeout(r, 0)); // WeakRefs hold their target until the job ends
      gc();
      expect(ref.deref()).toBeUndefined();
      // The entries are still cached and right.
      expect(s.get(Buffer.alloc(8, 7))).toEqual(Buffer.alloc(8, 248));
      expect((s as unknown as { stack: { layer: { size: number } } }).stack.layer.size).toBe(100);
      await s.close();
    },
  );

  it('reports operation timings and cache hits and misses to StoreMetrics', async () => {
    const ops = new Map<string, number>();
    let hits = 0;
    let misses = 0;
    const metrics: StoreMetrics = {
      operation: (store, op, seconds) => {
        expect(store).toBe('kv');
        expect(seconds).toBeGreaterThanOrEqual(0);
        ops.set(op, (ops.get(op) ?? 0) + 1);
      },
      cacheAccess: () => expect.fail('cacheAccesses is given'),
      cacheAccesses: (_store, h, m) => ((hits += h), (misses += m)),
    };
    const s = await open(true, { metrics });
    s.get('a'); // miss
    s.put('a', 1);
    s.get('a'); // hit
    s.delete('a');
    await collect(s.all());
    await s.flush();
    expect(Object.fromEntries(ops)).toEqual({ get: 3, put: 1, delete: 1, range: 1, flush: 1 });
    expect([hits, misses]).toEqual([2, 1]);
    await s.close();
  });

  it('reports cache hits and misses without timing operations when operation is left out', async () => {
    let hits = 0;
    let misses = 0;
    const s = await open(true, {
      metrics: {
        cacheAccess: () => expect.fail('cacheAccesses is given'),
        cacheAccesses: (_store, h, m) => ((hits += h), (misses += m)),
      },
    });
    s.get('a'); // miss
    s.put('a', 1);
    s.get('a'); // hit
    await s.flush();
    expect([hits, misses]).toEqual([1, 1]);
    await s.close();
  });
});
