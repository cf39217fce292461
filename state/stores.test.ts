/**
 * One contract suite for the stores, run against both backends (memory, LevelDB in a temp
 * dir). Cache behaviour in caching.test.ts; checkpoints in checkpoint.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  int64Serde,
  jsonSerde,
  openKeyValueStore,
  openSessionStore,
  openWindowStore,
  stringSerde,
  type StoreContext,
} from './index.js';
import { collect, kvOptions, useTempDir } from '../test/support/stores.js';

const root = useTempDir('millrace-stores-');
let tasks = 0;

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Rows the backend holds (white box: to see that expired segments are really deleted). */
async function backendRows(store: object): Promise<number> {
  const backend = (store as { stack: { backend: { scan(r: object): AsyncIterable<unknown> } } })
    .stack.backend;
  return (await collect(backend.scan({}))).length;
}

describe.each(['memory', 'leveldb'] as const)('store contract on %s', (backend) => {
  const ctx = (taskId = `0_${tasks++}`): StoreContext => ({
    applicationId: 'app',
    taskId,
    stateDir: root,
    backend,
  });
  const kv = (c = ctx(), cache = true) => openKeyValueStore(kvOptions({ cache }), c);
  const win = (c = ctx(), retentionMs = 600_000, segmentMs = 60_000) =>
    openWindowStore(
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

  describe.each([true, false])('key-value, cache %s', (cache) => {
    it('puts, gets, deletes and putIfAbsent, synchronously, before and after flush', async () => {
      const s = await kv(ctx(), cache);
      s.put('a', 1);
      expect(s.get('a')).toBe(1);
      expect(s.putIfAbsent('a', 5)).toBe(1);
      expect(s.putIfAbsent('b', 2)).toBeUndefined();
      expect(s.get('b')).toBe(2);
      await s.flush();
      expect(s.get('b')).toBe(2);
      expect(s.delete('a')).toBe(1);
      expect(s.get('a')).toBeUndefined();
      expect(s.delete('missing')).toBeUndefined();
      await s.flush();
      expect(s.get('a')).toBeUndefined();
      expect(s.putIfAbsent('a', 7)).toBeUndefined();
      expect(s.get('a')).toBe(7);
      await s.close();
    });

    it('range-scans in byte order of serialized keys, with inclusive and open bounds', async () => {
      const s = await kv(ctx(), cache);
      // '😀' (UTF-16 D83D…, UTF-8 F0…) sorts before 'ﬀ' (FB00, UTF-8 EF…) as a JS string,
      // after it as bytes; 'é' (C3 A9) after 'z'.
      const keys = ['b', 'é', 'a', 'z', 'aa', 'ﬀ', '😀', 'ą', ''];
      keys.forEach((k, i) => s.put(k, i));
      await s.flush();
      const bytes = [...keys].sort(byBytes);
      expect(bytes).not.toEqual([...keys].sort());
      expect((await collect(s.all())).map((e) => e.key)).toEqual(bytes);
      expect((await collect(s.range('aa', 'z'))).map((e) => e.key)).toEqual(['aa', 'b', 'z']);
      expect((await collect(s.range('ﬀ'))).map((e) => e.key)).toEqual(['ﬀ', '😀']);
      expect((await collect(s.range(undefined, 'a'))).map((e) => e.key)).toEqual(['', 'a']);
      expect((await collect(s.range('c', 'y'))).map((e) => e.key)).toEqual([]);
      expect((await collect(s.all())).find((e) => e.key === 'ą')?.value).toBe(7);
      await s.close();
    });

    it('counts entries approximately', async () => {
      const s = await kv(ctx(), cache);
      for (let i = 0; i < 50; i++) s.put(`k${i}`, i);
      s.delete('k0');
      await s.flush();
      await expect.poll(() => s.approximateNumEntries(), { interval: 20 }).toBe(49);
      await s.close();
    });

    it('restores drained changelog records into an empty store: same contents', async () => {
      const s = await kv(ctx(), cache);
      for (let i = 0; i < 500; i++) s.put(`k${i % 37}`, i);
      s.delete('k3');
      await s.flush();
      s.put('k4', -1);
      await s.flush();
      const log = s.drainChangelog().map((r, offset) => ({ ...r, offset }));
      const before = await collect(s.all());
      await s.close();
      const fresh = await kv(ctx(), cache);
      await fresh.restore(log);
      expect(await collect(fresh.all())).toEqual(before);
      expect(fresh.get('k4')).toBe(-1);
      expect(fresh.get('k3')).toBeUndefined();
      expect(fresh.drainChangelog()).toEqual([]);
      await fresh.close();
    });

    it('changelog records carry the key, the value (null for deletes) and the timestamp', async () => {
      let now = 1000;
      const s = await openKeyValueStore(kvOptions({ cache }), {
        ...ctx(),
        currentTimestamp: () => now,
      });
      s.put('x', 1);
      now = 2000;
      s.delete('y');
      await s.flush();
      const log = s
        .drainChangelog()
        .map((r) => [r.key.toString(), r.value && int64Serde.deserialize(r.value), r.timestamp]);
      expect(log).toEqual([
        ['x', 1, 1000],
        ['y', null, 2000],
      ]);
      expect(s.drainChangelog()).toEqual([]);
      await s.close();
    });
  });

  it('an unlogged store keeps no changelog', async () => {
    const s = await openKeyValueStore(kvOptions({ logged: false }), ctx());
    s.put('a', 1);
    await s.flush();
    expect(s.drainChangelog()).toEqual([]);
    expect(s.get('a')).toBe(1);
    await s.close();
  });

  it('windows: put, fetch, fetchRange in time order, fetchAll, delete; prefix keys stay apart', async () => {
    const w = await win();
    w.put('AAPL', { n: 1 }, 60_000);
    w.put('AAPL', { n: 2 }, 0);
    w.put('AAP', { n: 3 }, 0);
    w.put('MSFT', { n: 4 }, 60_000);
    expect(w.fetch('AAPL', 0)).toEqual({ n: 2 });
    expect(w.fetch('AAPL', 1)).toBeUndefined();
    await w.flush();
    w.put('AAPL', { n: 5 }, 120_000); // still in the cache
    w.put('AAPL', { n: 6 }, 30_000);
    const range = await collect(w.fetchRange('AAPL', 0, 120_000));
    expect(range.map((x) => x.windowStart)).toEqual([0, 30_000, 60_000, 120_000]);
    expect(range.map((x) => (x.value as { n: number }).n)).toEqual([2, 6, 1, 5]);
    expect((await collect(w.fetchRange('AAPL', 30_000, 60_000))).length).toBe(2);
    expect(await collect(w.fetchRange('AAP', 0, 120_000))).toEqual([
      { windowStart: 0, value: { n: 3 } },
    ]);
    expect((await collect(w.fetchAll(60_000, 60_000))).map((x) => x.key)).toEqual(['AAPL', 'MSFT']);
    const all = await collect(w.fetchAll(0, 200_000));
    expect(all.map((x) => `${x.windowStart}:${x.key}`)).toEqual([
      '0:AAP',
      '0:AAPL',
      '30000:AAPL',
      '60000:AAPL',
      '60000:MSFT',
      '120000:AAPL',
    ]);
    w.put('MSFT', undefined, 60_000);
    expect(w.fetch('MSFT', 60_000)).toBeUndefined();
    expect((await collect(w.fetchAll(0, 200_000))).length).toBe(5);
    await w.flush();
    expect((await collect(w.fetchAll(0, 200_000))).length).toBe(5);
    await w.close();
  });

  it('windows expire with retention; whole segments are deleted', async () => {
    const w = await win(ctx(), 30_000, 10_000);
    for (let t = 0; t <= 100_000; t += 5000) {
      w.put('k', { t }, t);
      w.put('j', { t }, t);
      await w.flush();
    }
    // Newest start 100 000, retention 30 000: starts >= 70 000 live; segments 0-6 deleted.
    expect(await backendRows(w)).toBe(14);
    const starts = (await collect(w.fetchAll(0, Number.MAX_SAFE_INTEGER))).map(
      (x) => x.windowStart,
    );
    expect(Math.min(...starts)).toBe(70_000);
    expect(w.fetch('k', 65_000)).toBeUndefined();
    w.put('k', { t: 105_000 }, 105_000);
    await w.flush();
    // 70 000 is now past retention but shares segment 7 with 75 000: hidden, not yet deleted.
    expect(w.fetch('k', 70_000)).toBeUndefined();
    expect(await backendRows(w)).toBe(15);
    expect((await collect(w.fetchRange('k', 0, 200_000))).map((x) => x.windowStart)).toEqual([
      75_000, 80_000, 85_000, 90_000, 95_000, 100_000, 105_000,
    ]);
    w.drainChangelog();
    w.put('k', { late: true }, 10_000); // an expired window: dropped
    expect(w.fetch('k', 10_000)).toBeUndefined();
    await w.flush();
    expect(w.drainChangelog()).toEqual([]);
    await w.close();
  });

  it('window stores restore from their changelog (the record key holds key and window start)', async () => {
    const w = await win(ctx(), 60_000, 10_000);
    for (let t = 0; t <= 90_000; t += 10_000) w.put(`s${t % 3}`, { t }, t);
    await w.flush();
    w.put('s0', undefined, 90_000);
    await w.flush();
    const log = w.drainChangelog().map((r, offset) => ({ ...r, offset }));
    const before = await collect(w.fetchAll(0, 200_000));
    await w.close();
    const fresh = await win(ctx(), 60_000, 10_000);
    await fresh.restore(log);
    expect(await collect(fresh.fetchAll(0, 200_000))).toEqual(before);
    expect(fresh.fetch('s0', 90_000)).toBeUndefined();
    expect(fresh.fetch('s0', 0)).toBeUndefined(); // expired during restore
    await fresh.close();
  });

  it('windows marked closed: no value, skipped by scans, remembered across a restore; empty values refused', async () => {
    const w = await win(ctx(), 60_000, 10_000);
    w.put('a', { n: 1 }, 0);
    w.put('b', { n: 2 }, 0);
    w.markClosed('a', 0);
    expect(w.fetch('a', 0)).toBeUndefined();
    expect(w.isClosed('a', 0)).toBe(true);
    expect(w.isClosed('b', 0)).toBe(false);
    expect(w.isClosed('c', 0)).toBe(false);
    expect((await collect(w.fetchAll(0, 1))).map((x) => x.key)).toEqual(['b']);
    expect(await collect(w.fetchAllWithClosed(0, 1))).toEqual([
      { key: 'a', windowStart: 0, value: undefined },
      { key: 'b', windowStart: 0, value: { n: 2 } },
    ]);
    expect(await collect(w.fetchRange('a', 0, 1))).toEqual([]);
    await w.flush();
    const log = w.drainChangelog().map((r, offset) => ({ ...r, offset }));
    await w.close();
    const fresh = await win(ctx(), 60_000, 10_000);
    await fresh.restore(log);
    expect(fresh.isClosed('a', 0)).toBe(true);
    expect(fresh.fetch('b', 0)).toEqual({ n: 2 });
    await fresh.close();
    const strings = await openWindowStore(
      {
        name: 's',
        kind: 'window',
        keySerde: stringSerde,
        valueSerde: stringSerde,
        logged: true,
        cache: true,
      },
      ctx(),
    );
    expect(() => strings.put('k', '', 0)).toThrow(/serialized to zero bytes/);
    await strings.close();
  });

  it('sessions: put, fetchSession, findSessions, fetchAll by end, closed markers, retention by end, restore', async () => {
    const open = (c = ctx()) =>
      openSessionStore(
        {
          name: 'sess',
          kind: 'session',
          keySerde: stringSerde,
          valueSerde: int64Serde,
          logged: true,
          cache: true,
          retentionMs: 30_000,
          segmentMs: 10_000,
        },
        c,
      );
    const s = await open();
    s.put('AAPL', { start: 0, end: 5_000 }, 3);
    s.put('AAPL', { start: 20_000, end: 21_000 }, 2);
    s.put('AAP', { start: 1_000, end: 1_000 }, 1);
    s.put('MSFT', { start: 4_000, end: 9_000 }, 7);
    expect(s.fetchSession('AAPL', { start: 0, end: 5_000 })).toBe(3);
    expect(s.fetchSession('AAPL', { start: 0, end: 4_000 })).toBeUndefined();
    const found = await collect(s.findSessions('AAPL', 4_000, 25_000));
    expect(found.map((x) => [x.start, x.end, x.value])).toEqual([
      [0, 5_000, 3],
      [20_000, 21_000, 2],
    ]);
    expect((await collect(s.findSessions('AAPL', 6_000, 19_000))).length).toBe(0);
    await s.flush();
    s.markClosed('AAPL', { start: 0, end: 5_000 });
    s.put('MSFT', { start: 4_000, end: 9_000 }, undefined);
    const all = await collect(s.fetchAllWithClosed(0, 100_000));
    expect(all.map((x) => `${x.key}:${x.start}-${x.end}:${x.value}`)).toEqual([
      'AAP:1000-1000:1',
      'AAPL:0-5000:undefined',
      'AAPL:20000-21000:2',
    ]);
    expect((await collect(s.fetchAll(0, 100_000))).map((x) => x.key)).toEqual(['AAP', 'AAPL']);
    await s.flush();
    const log = s.drainChangelog().map((r, offset) => ({ ...r, offset }));
    await s.close();
    const fresh = await open();
    await fresh.restore(log);
    expect(await collect(fresh.fetchAllWithClosed(0, 100_000))).toEqual(all);
    fresh.put('AAPL', { start: 40_000, end: 45_000 }, 1); // newest end 45 000: ends < 15 000 expire
    await fresh.flush();
    expect((await collect(fresh.fetchAllWithClosed(0, 100_000))).map((x) => x.end)).toEqual([
      21_000, 45_000,
    ]);
    await fresh.close();
  });

  it('discards uncommitted writes and changelog records', async () => {
    const s = await kv();
    s.put('kept', 1);
    await s.flush();
    s.drainChangelog();
    s.put('lost', 2);
    s.put('kept', 3);
    s.discardUncommitted();
    expect(s.get('lost')).toBeUndefined();
    expect(s.get('kept')).toBe(1);
    await s.flush();
    expect(s.drainChangelog()).toEqual([]);
    expect((await collect(s.all())).map((e) => e.key)).toEqual(['kept']);
    await s.close();
  });

  it('destroy deletes the data: a store opened again is empty', async () => {
    const c = ctx();
    const s = await kv(c);
    s.put('a', 1);
    await s.flush();
    await s.destroy();
    const again = await kv(c);
    expect(again.get('a')).toBeUndefined();
    await again.close();
  });
});

describe('LevelDB specifics', () => {
  const c: StoreContext = {
    applicationId: 'app',
    taskId: '9_9',
    stateDir: root,
    backend: 'leveldb',
  };
  const kvOpts = kvOptions();
  const winOpts = {
    ...kvOpts,
    name: 'w',
    kind: 'window' as const,
    valueSerde: jsonSerde,
    retentionMs: 30_000,
    segmentMs: 10_000,
  };

  it('a reopened store keeps its data, and a window store its retention', async () => {
    const s = await openKeyValueStore(kvOpts, c);
    s.put('x', 42);
    await s.flush();
    await s.close();
    expect(fs.existsSync(path.join(root, 'app', '9_9', 'kv'))).toBe(true);
    const again = await openKeyValueStore(kvOpts, c);
    expect(again.get('x')).toBe(42);
    await again.close();

    const w = await openWindowStore(winOpts, c);
    for (const t of [0, 45_000, 50_000]) w.put('k', t, t);
    await w.flush();
    await w.close();
    const w2 = await openWindowStore(winOpts, c);
    expect(w2.fetch('k', 50_000)).toBe(50_000);
    expect(w2.fetch('k', 0)).toBeUndefined();
    w2.put('k', 1, 5000); // expired: the newest start seen (50 000) survived the reopen
    expect(w2.fetch('k', 5000)).toBeUndefined();
    await w2.close();
  });

  it('a second open of the same store fails with a message naming the directory and the fix', async () => {
    const s = await openKeyValueStore(kvOpts, c);
    await expect(openKeyValueStore(kvOpts, c)).rejects.toMatchObject({
      code: 'STORE_LOCKED',
      retriable: true,
      message: expect.stringMatching(/app\/9_9\/kv.*lock is held.*give each its own/),
    });
    await s.close();
  });

  it('reads its own writes before they land, and lands them in order', async () => {
    const s = await openKeyValueStore({ ...kvOpts, cache: false }, { ...c, taskId: '9_8' });
    for (let i = 0; i < 2000; i++) {
      s.put(`k${i % 7}`, i);
      expect(s.get(`k${i % 7}`)).toBe(i);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await s.flush();
    await s.close();
    const again = await openKeyValueStore(kvOpts, { ...c, taskId: '9_8' });
    expect((await collect(again.all())).map((e) => e.value)).toEqual([
      1995, 1996, 1997, 1998, 1999, 1993, 1994,
    ]);
    await again.close();
  });
});
