/**
 * `npm run bench:state`: the state layer and the engine without a broker.
 *  - put+get through the full store stack on LevelDB, with and without the cache
 *  - bulk restore of 1M changelog records into LevelDB
 *  - count-by-key through the topology test driver (same engine as the runtime)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../processors/index.js';
import { TopologyTestDriver } from '../runtime/testing/driver.js';
import { int64Serde, openKeyValueStore, stringSerde } from '../state/index.js';
import { TopologyBuilder } from '../topology/index.js';
import { rssMib, writeResults, type BenchCase } from './lib/results.js';

const N = Number(process.env.BENCH_OPS ?? 1_000_000);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-state-'));
const result = (
  name: string,
  records: number,
  seconds: number,
  extra: Partial<BenchCase> = {},
): BenchCase => ({
  case: name,
  guarantee: null,
  records,
  seconds: Math.round(seconds * 1000) / 1000,
  records_per_s: Math.round(records / seconds),
  p50_ms: null,
  p99_ms: null,
  rss_mib: rssMib(),
  ...extra,
});

async function putGet(cache: boolean): Promise<BenchCase> {
  const store = await openKeyValueStore(
    {
      name: 'kv',
      kind: 'keyValue',
      keySerde: stringSerde,
      valueSerde: int64Serde,
      logged: true,
      cache,
    },
    { applicationId: 'bench', taskId: `0_${cache ? 1 : 2}`, stateDir: root, backend: 'leveldb' },
  );
  const keys = Array.from({ length: 10_000 }, (_, i) => `key-${i}`);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const k = keys[i % keys.length]!;
    store.put(k, (store.get(k) ?? 0) + 1);
    if (i % 50_000 === 49_999) {
      await store.flush();
      store.drainChangelog();
    }
  }
  await store.flush();
  store.drainChangelog();
  const s = (performance.now() - t0) / 1000;
  await store.close();
  // One op = one get + one put.
  return result(
    `kv put+get, full stack on LevelDB, ${cache ? 'cached' : 'no cache'} (10k keys, flush every 50k)`,
    N,
    s,
  );
}

async function restore(): Promise<BenchCase> {
  const store = await openKeyValueStore(
    {
      name: 'kv',
      kind: 'keyValue',
      keySerde: stringSerde,
      valueSerde: int64Serde,
      logged: true,
      cache: true,
    },
    { applicationId: 'bench', taskId: '0_3', stateDir: root, backend: 'leveldb' },
  );
  const batches = [];
  for (let b = 0; b < N / 10_000; b++) {
    batches.push(
      Array.from({ length: 10_000 }, (_, i) => ({
        key: Buffer.from(`key-${b * 10_000 + i}`),
        value: int64Serde.serialize(i),
        timestamp: 0,
        offset: b * 10_000 + i,
      })),
    );
  }
  const t0 = performance.now();
  for (const batch of batches) await store.restore(batch);
  const s = (performance.now() - t0) / 1000;
  await store.close();
  return result('bulk restore into LevelDB (batches of 10k, unique keys)', N, s);
}

async function driverCount(): Promise<BenchCase> {
  const b = new TopologyBuilder();
  b.stream('in', { key: 'string', value: 'string' })
    .groupByKey({ keySerde: 'string', valueSerde: 'string' })
    .count({ name: 'count' })
    .to('out', { key: 'string', value: 'int64' });
  const driver = await TopologyTestDriver.create(b.build(), { backend: 'leveldb' });
  const input = driver.input('in', { key: 'string', value: 'string' });
  const out = driver.output('out', { key: 'string', value: 'int64' });
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const value = 'x'.repeat(100);
  const n = Math.min(N, 500_000);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await input.pipe(keys[i % keys.length]!, value, { timestamp: i });
    if (i % 50_000 === 49_999) {
      await driver.commit();
      out.readAll();
    }
  }
  await driver.commit();
  const s = (performance.now() - t0) / 1000;
  await driver.close();
  return result('count-by-key in the test driver (LevelDB, 10k keys, 100-byte values)', n, s);
}

const results = [await putGet(true), await putGet(false), await restore(), await driverCount()];
for (const r of results)
  console.log(
    `${r.case}: ${r.records_per_s?.toLocaleString()} /s (${r.seconds}s, RSS ${r.rss_mib} MiB)`,
  );
const file = writeResults('state', 'npm run bench:state', results);
console.log(`wrote ${file}`);
fs.rmSync(root, { recursive: true, force: true });
