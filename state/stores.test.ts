/**
 * One contract suite, run against both backends (memory and LevelDB in a temp dir).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyValueStore, StateStore, StoreContext, WindowStore } from './api.js';
import {
  int64Serde,
  jsonSerde,
  openKeyValueStore,
  openWindowStore,
  readCheckpoint,
  removeCheckpoint,
  stringSerde,
  writeCheckpoint,
} from './index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-state-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.each(['memory', 'leveldb'] as const)('stores on %s', (backend) => {
  const ctx = (task = `0_${n++}`): StoreContext => ({
    applicationId: 'app',
    taskId: task,
    stateDir: root,
    backend,
  });
  const kv = (c: StoreContext, cache = true) =>
    openKeyValueStore<string, number>(
      {
        name: 'kv',
        kind: 'keyValue',
        keySerde: stringSerde,
        valueSerde: int64Serde,
        logged: true,
        cache,
      },
      c,
    );
  const win = (c: StoreContext, retentionMs = 60_000, segmentMs = 10_000) =>
    openWindowStore<string, unknown>(
      {
        name: 'win',
        kind: 'window',
        keySerde: stringSerde,
        valueSerde: jsonSerde,
        logged: true,
        cache: true,
        retentionMs,
        segmentMs,
      },
      c,
    );

  it('puts, gets, deletes and putIfAbsent, reading synchronously', async () => {
    const s = await kv(ctx());
    s.put('a', 1);
    expect(s.get('a')).toBe(1);
    expect(s.putIfAbsent('a', 5)).toBe(1);
    expect(s.putIfAbsent('b', 2)).toBeUndefined();
    await s.flush();
    expect(s.get('b')).toBe(2);
    expect(s.delete('a')).toBe(1);
    expect(s.get('a')).toBeUndefined();
    await s.flush();
    expect(s.get('a')).toBeUndefined();
    await s.close();
  });

  it('range-scans in byte order of keys (not string order), with bounds, merging unflushed writes', async () => {
    const s = await kv(ctx());
    // 'é' (0xC3 0xA9) sorts after 'z' in bytes; '\uFFFD'-free multi-byte keys included.
    for (const [i, k] of ['b', 'é', 'a', 'z', 'aa', 'ą'].entries()) s.put(k, i);
    await s.flush();
    s.put('c', 10); // dirty, in range
    s.delete('z'); // dirty delete hides the backend entry
    const all = (await collect(s.all())).map((e) => e.key);
    const bytes = ['a', 'aa', 'b', 'c', 'é', 'ą'].sort((x, y) =>
      Buffer.compare(Buffer.from(x), Buffer.from(y)),
    );
    expect(all).toEqual(bytes);
    expect((await collect(s.range('aa', 'c'))).map((e) => e.key)).toEqual(['aa', 'b', 'c']);
    await s.flush();
    s.approximateNumEntries();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.approximateNumEntries()).toBe(6);
    await s.close();
  });

  it('collapses repeated writes per key between flushes: one backend write and one changelog record each', async () => {
    const s = await kv(ctx());
    for (let i = 0; i < 1000; i++) s.put(`k${i % 10}`, i);
    await s.flush();
    const log = s.drainChangelog();
    expect(log.length).toBe(10);
    expect((s as unknown as { backendWrites: number }).backendWrites).toBe(10);
    expect(log.map((r) => int64Serde.deserialize(r.value!)).sort((a, b) => a - b)).toEqual([
      990, 991, 992, 993, 994, 995, 996, 997, 998, 999,
    ]);
    await s.close();
    const u = await kv(ctx(), false);
    for (let i = 0; i < 1000; i++) u.put(`k${i % 10}`, i);
    await u.flush();
    expect(u.drainChangelog().length).toBe(1000);
    expect((u as unknown as { backendWrites: number }).backendWrites).toBe(1000);
    await u.close();
  });

  it('restores from drained changelog records into an empty store with the same contents', async () => {
    const s = await kv(ctx());
    for (let i = 0; i < 500; i++) s.put(`k${i % 37}`, i);
    s.delete('k3');
    await s.flush();
    const log = s.drainChangelog().map((r, offset) => ({ ...r, offset }));
    const before = await collect(s.all());
    await s.close();
    const fresh = await kv(ctx());
    await fresh.restore(log);
    expect(await collect(fresh.all())).toEqual(before);
    expect(fresh.drainChangelog()).toEqual([]);
    await fresh.close();
  });

  it('discards uncommitted writes', async () => {
    const s = await kv(ctx());
    s.put('kept', 1);
    await s.flush();
    s.drainChangelog();
    s.put('lost', 2);
    s.discardUncommitted();
    await s.flush();
    expect(s.get('lost')).toBeUndefined();
    expect(s.drainChangelog()).toEqual([]);
    await s.close();
  });

  it('windows: put, fetch, fetchRange in time order, fetchAll, delete', async () => {
    const w = await win(ctx(), 600_000, 60_000);
    w.put('AAPL', { n: 1 }, 60_000);
    w.put('AAPL', { n: 2 }, 0);
    w.put('AAP', { n: 3 }, 0);
    w.put('MSFT', { n: 4 }, 60_000);
    expect(w.fetch('AAPL', 0)).toEqual({ n: 2 });
    await w.flush();
    w.put('AAPL', { n: 5 }, 120_000);
    expect((await collect(w.fetchRange('AAPL', 0, 120_000))).map((x) => x.windowStart)).toEqual([
      0, 60_000, 120_000,
    ]);
    expect((await collect(w.fetchRange('AAP', 0, 120_000))).map((x) => x.value)).toEqual([
      { n: 3 },
    ]);
    expect((await collect(w.fetchAll(60_000, 60_000))).map((x) => x.key)).toEqual(['AAPL', 'MSFT']);
    w.put('MSFT', undefined, 60_000);
    expect(w.fetch('MSFT', 60_000)).toBeUndefined();
    await w.flush();
    expect((await collect(w.fetchAll(0, 200_000))).length).toBe(4);
    await w.close();
  });

  it('windows expire with retention, whole segments at a time', async () => {
    const w = await win(ctx(), 30_000, 10_000);
    for (let t = 0; t <= 100_000; t += 5000) w.put('k', { t }, t);
    await w.flush();
    const left = (await collect(w.fetchAll(0, 200_000))).map((x) => x.windowStart);
    expect(Math.min(...left)).toBeGreaterThanOrEqual(100_000 - 30_000);
    expect(w.fetch('k', 10_000)).toBeUndefined();
    expect(w.fetch('k', 100_000)).toEqual({ t: 100_000 });
    await w.close();
  });
});

describe('leveldb specifics', () => {
  it('a reopened store keeps its data (key-value and window)', async () => {
    const c: StoreContext = {
      applicationId: 'app',
      taskId: '9_9',
      stateDir: root,
      backend: 'leveldb',
    };
    const s = (await openKeyValueStore(
      {
        name: 'kv',
        kind: 'keyValue',
        keySerde: stringSerde,
        valueSerde: int64Serde,
        logged: true,
        cache: true,
      },
      c,
    )) as KeyValueStore<string, number> & StateStore;
    s.put('x', 42);
    await s.flush();
    await s.close();
    const again = await openKeyValueStore(
      {
        name: 'kv',
        kind: 'keyValue',
        keySerde: stringSerde,
        valueSerde: int64Serde,
        logged: true,
        cache: true,
      },
      c,
    );
    expect(again.get('x')).toBe(42);
    await again.close();
    const opts = {
      name: 'w',
      kind: 'window' as const,
      keySerde: stringSerde,
      valueSerde: jsonSerde,
      logged: true,
      cache: true,
      retentionMs: 60_000,
    };
    const w = (await openWindowStore(opts, c)) as WindowStore<string, unknown> & StateStore;
    w.put('k', 1, 5000);
    await w.flush();
    await w.close();
    const w2 = await openWindowStore(opts, c);
    expect(w2.fetch('k', 5000)).toBe(1);
    await w2.close();
  });
});

describe('checkpoints', () => {
  it('round-trip atomically, and refuse a newer format with the fix', async () => {
    const dir = path.join(root, 'cp');
    expect(await readCheckpoint(dir)).toBeUndefined();
    await writeCheckpoint(dir, new Map([['counts', 17]]));
    expect(await readCheckpoint(dir)).toEqual(new Map([['counts', 17]]));
    expect(fs.readdirSync(dir)).toEqual(['.checkpoint']);
    fs.writeFileSync(path.join(dir, '.checkpoint'), JSON.stringify({ format: 99, offsets: {} }));
    await expect(readCheckpoint(dir)).rejects.toThrow(/newer millrace.*delete .*cp/);
    await removeCheckpoint(dir);
    expect(await readCheckpoint(dir)).toBeUndefined();
  });
});
