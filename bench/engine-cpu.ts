/**
 * `npx tsx bench/engine-cpu.ts`: CPU per record of the task engine alone, as the Kafka
 * runtime drives it but with no broker: 8 tasks (LevelDB stores in a temporary directory),
 * records handed over in fetch-sized batches of BENCH_BATCH (500) per task in turn, 10,000
 * keys, 100-byte values, a commit of every task (stores flushed, outputs, changelog records
 * and offsets taken) every BENCH_COMMIT_EVERY records (5,000: what a 100 ms commit interval
 * or maxBufferedRecords gives at this rate). Prints records per CPU-second of this process
 * (user + system, all threads) per round; the machine is shared, and CPU time is steadier than
 * the wall clock. BENCH_KIND=stateless|stateful|stateful-on-commit (stateful), BENCH_RECORDS
 * per round (1,000,000), BENCH_ROUNDS (5).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchTopology, type BenchKind } from './lib/topologies.js';
import { runtimeTopology } from '../runtime/topology-adapter.js';
import { resolveConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/log.js';
import type { RawRecord, TaskEngine } from '../runtime/task-port.js';

const KIND = (process.env.BENCH_KIND ?? 'stateful') as BenchKind;
const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const COMMIT_EVERY = Number(process.env.BENCH_COMMIT_EVERY ?? 5000);
const TASKS = 8;
const KEYS = 10_000;

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-engine-cpu-'));
const config = resolveConfig({
  applicationId: 'engine-cpu',
  bootstrapServers: 'localhost:9092',
  processingGuarantee: 'exactly_once',
  stateDir,
});
const app = runtimeTopology(benchTopology(KIND, 'in', 'out'));
const ctx = { config, log: createLogger('error', {}) };
const engines: TaskEngine[] = [];
for (let t = 0; t < TASKS; t++) {
  const e = await app.createEngine(`0_${t}`, ctx);
  await e.init();
  engines.push(e);
}

// The same fetched messages as kafkajs hands them over (keys `k<n>` as bench/lib/preload.ts
// writes them), made into RawRecords per batch as the stream thread does.
const value = Buffer.alloc(100, 'x');
// Each task its own share of the keys, as the producer's partitioner gives them.
const keys = Array.from({ length: TASKS }, (_, t) =>
  Array.from({ length: KEYS / TASKS }, (_, i) => Buffer.from(`k${i * TASKS + t}`)),
);
const offsets = new Array<number>(TASKS).fill(0);
let sent = 0;
let produced = 0;

async function commitAll(): Promise<void> {
  for (const e of engines) {
    const b = await e.prepareCommit();
    produced += b.records.length;
    for (const c of b.changelogs) produced += c.records.length;
  }
}

async function round(): Promise<void> {
  let sinceCommit = 0;
  for (let done = 0; done < RECORDS;) {
    for (let t = 0; t < TASKS && done < RECORDS; t++) {
      const e = engines[t]!;
      const n = Math.min(BATCH, RECORDS - done);
      const batch: RawRecord[] = new Array(n);
      for (let i = 0; i < n; i++)
        batch[i] = {
          topic: 'in',
          partition: t,
          offset: offsets[t]!++,
          key: keys[t]![sent++ % (KEYS / TASKS)]!,
          value,
          timestamp: 1_700_000_000_000 + sent,
          headers: {},
        };
      for (let i = 0; i < n; i++) {
        const p = e.process(batch[i]!);
        if (p) await p;
      }
      done += n;
      sinceCommit += n;
      if (sinceCommit >= COMMIT_EVERY) {
        sinceCommit = 0;
        await commitAll();
      }
    }
  }
  await commitAll();
}

await round(); // warm up
console.log(
  `engine alone, ${KIND}: ${TASKS} tasks, batches of ${BATCH}, a commit every ${COMMIT_EVERY} records`,
);
for (let r = 0; r < ROUNDS; r++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await round();
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wall = (performance.now() - t0) / 1000;
  console.log(
    `round ${r + 1}: ${Math.round(RECORDS / cpuSeconds).toLocaleString('en-US')} records per CPU-second (${((cpuSeconds * 1e6) / RECORDS).toFixed(2)} µs/record), ${Math.round(RECORDS / wall).toLocaleString('en-US')} records/s wall`,
  );
}
for (const e of engines) await e.close();
fs.rmSync(stateDir, { recursive: true, force: true });
if (!produced) throw new Error('nothing was produced');
