/**
 * `npm run bench:state`: the state stores through their full stack (metered → caching →
 * change-logging → LevelDB), no broker.
 *
 * Cases are a list. Another bench can add its own without touching this file: a module
 * `bench/cases/driver.ts` exporting `cases: BenchCaseDef[]` (see lib/results.ts) is
 * imported when it exists and its cases run after these, in the same results file.
 *
 * Env: BENCH_OPS (default 1 000 000) sets the operations per store case and the records
 * restored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  int64Serde,
  openKeyValueStore,
  openWindowStore,
  stringSerde,
  type RestoreRecord,
  type StoreMetrics,
} from '../state/index.js';
import { runBench, throughput, type BenchCaseDef } from './lib/results.js';

const N = Number(process.env.BENCH_OPS ?? 1_000_000);
const KEYS = 10_000;
const FLUSH_EVERY = 50_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-state-'));
let tasks = 0;

const ctx = (metrics?: StoreMetrics) => ({
  applicationId: 'bench',
  taskId: `0_${tasks++}`,
  stateDir: root,
  backend: 'leveldb' as const,
  metrics,
});

const kvOptions = (cache: boolean) => ({
  name: 'kv',
  kind: 'keyValue' as const,
  keySerde: stringSerde,
  valueSerde: int64Serde,
  logged: true,
  cache,
});

/** What a StoreMetrics bound to counters costs at least: one call per operation. */
const nullMetrics = (): StoreMetrics => {
  let total = 0;
  return {
    operation: (_s, _o, seconds) => void (total += seconds),
    cacheAccess: () => {},
    cacheAccesses: () => {},
  };
};

/** Count-by-key: get, add one, put; flush and drain the changelog as a commit would. */
async function putGet(cache: boolean, metrics?: StoreMetrics): Promise<number> {
  const store = await openKeyValueStore(kvOptions(cache), ctx(metrics));
  const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const k = keys[i % KEYS]!;
    store.put(k, (store.get(k) ?? 0) + 1);
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) {
      await store.flush();
      store.drainChangelog();
    }
  }
  await store.flush();
  store.drainChangelog();
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  return seconds;
}

/** Dedupe's pattern: fetch a window of a key never seen (a miss down to LevelDB), then put it. */
async function windowFetchPut(): Promise<number> {
  const store = await openWindowStore(
    { ...kvOptions(true), name: 'seen', kind: 'window', retentionMs: 600_000, segmentMs: 120_000 },
    ctx(),
  );
  const symbols = Array.from({ length: 100 }, (_, i) => `SYM${i}`);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const key = symbols[i % 100]!;
    const ts = 1_700_000_000_000 + Math.floor(i / 100) * 7;
    if (store.fetch(key, ts) === undefined) store.put(key, 1, ts);
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) {
      await store.flush();
      store.drainChangelog();
    }
  }
  await store.flush();
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  return seconds;
}

/** Changelog records as the restore consumer hands them over: batches of 10 000, unique keys. */
function changelogBatches(key: (i: number) => Buffer): RestoreRecord[][] {
  const batches: RestoreRecord[][] = [];
  for (let start = 0; start < N; start += 10_000) {
    const batch: RestoreRecord[] = [];
    for (let i = start; i < Math.min(N, start + 10_000); i++)
      batch.push({ key: key(i), value: int64Serde.serialize(i), timestamp: 0, offset: i });
    batches.push(batch);
  }
  return batches;
}

async function restoreKeyValue(): Promise<number> {
  const batches = changelogBatches((i) => Buffer.from(`key-${i}`));
  const store = await openKeyValueStore(kvOptions(true), ctx());
  const t0 = performance.now();
  for (const batch of batches) await store.restore(batch);
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  return seconds;
}

const cases: BenchCaseDef[] = [
  {
    name: 'kv get+put (one op = a get and a put), LevelDB, cached',
    run: async () =>
      throughput(
        `kv get+put (one op = a get and a put), full stack on LevelDB, cached (${KEYS.toLocaleString('en-US')} keys, flush every ${FLUSH_EVERY.toLocaleString('en-US')})`,
        N,
        await putGet(true),
      ),
  },
  {
    name: 'kv get+put, cached, with StoreMetrics',
    run: async () =>
      throughput(
        'kv get+put, same, with a StoreMetrics (timings of every op)',
        N,
        await putGet(true, nullMetrics()),
      ),
  },
  {
    name: 'kv get+put, no cache',
    run: async () =>
      throughput(
        'kv get+put, same, no cache (every put a LevelDB write and a changelog record)',
        N,
        await putGet(false),
      ),
  },
  {
    name: 'window fetch+put, dedupe pattern',
    run: async () =>
      throughput(
        'window fetch-miss+put (dedupe pattern: every window new, read through to LevelDB), cached',
        N,
        await windowFetchPut(),
      ),
  },
  {
    name: 'bulk restore',
    run: async () =>
      throughput(
        'bulk restore into LevelDB (batches of 10 000 changelog records, unique keys)',
        N,
        await restoreKeyValue(),
      ),
  },
];

/** Cases another bench contributes (see the header), if its module exists. */
async function contributedCases(): Promise<BenchCaseDef[]> {
  const file = new URL('./cases/driver.ts', import.meta.url);
  if (!fs.existsSync(file)) return [];
  const spec = './cases/driver.js'; // a variable: the module may not exist when type-checking
  const mod = (await import(spec)) as { cases?: BenchCaseDef[] };
  return mod.cases ?? [];
}

try {
  await runBench('state', 'npm run bench:state', [...cases, ...(await contributedCases())]);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
