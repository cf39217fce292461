/**
 * `npm run bench:engine`: the runtime on the real broker, one instance, 8 partitions,
 * 100-byte values, records preloaded; measured from the first record consumed to the
 * last output committed.
 *   - stateless map/filter and stateful count-by-key (LevelDB + changelog), each under
 *     at-least-once and exactly-once
 *   - restore rate from a changelog of ≥ 1M records
 *   - p50/p99 latency from produce to committed output at half the measured EOS rate,
 *     the instance in its own process (`latency`: exactly-once; `latency-alos`: the same
 *     at-least-once, whose outputs are written when a task commits)
 *   - the same count-by-key with `emit: 'on-commit'` (one output per key and commit, as
 *     Kafka Streams' record cache), each guarantee
 *   - failover: two instances, the owner of half the state (BENCH_FAILOVER_RECORDS keys in
 *     all, 2M by default: about 1M records of state each) `kill -9`'d → every task running
 *     again on the survivor, with 0 and with 1 standby replica
 * BENCH_CASES=stateless,stateful,stateful-on-commit,restore,latency,latency-alos,failover picks
 * cases (all by default);
 * BENCH_RECORDS, BENCH_RESTORE_RECORDS, BENCH_LATENCY_SECONDS, BENCH_LATENCY_RATE,
 * BENCH_LATENCY_WARMUP_SECONDS (10: records produced before are reported apart),
 * BENCH_FAILOVER_RECORDS size them;
 * BENCH_COMMIT_STATS=1 logs how long the latency case's task commits took (p50/p90/p99).
 * Starts the local stack if it is not running (and stops only what it started).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { preload } from './lib/preload.js';
import { benchTopology, type BenchKind } from './lib/topologies.js';
import { createKafka } from '../connectors/kafka/client.js';
import { endpoints, loadConfig } from '../deploy/local/config.js';
import { down, up } from '../deploy/local/infra.js';
import { StreamsApp } from '../runtime/app.js';
import { committedLag } from '../runtime/lag.js';
import { createTopics, deleteTopicsWithPrefix } from '../connectors/kafka/topics.js';
import { startChild, type Child } from '../harness/processes.js';
import { peakRssMib, percentile, rssMib, writeResults, type BenchCase } from './lib/results.js';

const N = Number(process.env.BENCH_RECORDS ?? 2_000_000);
const RESTORE_N = Number(process.env.BENCH_RESTORE_RECORDS ?? 1_000_000);
const run = `bench-${randomUUID().slice(0, 6)}`;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-engine-'));
const log = (m: string) => process.stderr.write(`[bench:engine] ${m}\n`);

interface Measured {
  seconds: number;
  peakRss: number;
}

async function runToEnd(app: StreamsApp, expected: number): Promise<Measured> {
  let first = 0;
  let processed = 0;
  let peakRss = rssMib();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMib())), 100);
  await app.start();
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const tasks = [...app.tasks.values()];
      processed = tasks.reduce((n, t) => n + t.stats.processed, 0);
      if (!first && processed > 0) first = performance.now() - 5;
      if (processed >= expected && tasks.every((t) => !t.hasUncommitted)) {
        clearInterval(poll);
        clearInterval(sampler);
        resolve({ seconds: (performance.now() - first) / 1000, peakRss });
      }
    }, 5);
  });
}

const caseNames: Record<BenchKind, string> = {
  stateless: 'stateless map/filter',
  stateful: 'count-by-key, LevelDB + changelog',
  'stateful-on-commit': "count-by-key, LevelDB + changelog, emit 'on-commit'",
};

async function throughputCase(
  kafka: Kafka,
  brokers: string[],
  input: string,
  kind: BenchKind,
  guarantee: 'at_least_once' | 'exactly_once',
): Promise<BenchCase> {
  const appId = `${run}-${kind}-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`;
  await createTopics(kafka, [{ topic: `${appId}-out`, partitions: 8 }]);
  // The instance runs in a process of its own, so its peak RSS is its own.
  const worker = startChild(appId, 'bench/engine-worker.ts', [], {
    APP: appId,
    INPUT: input,
    OUTPUT: `${appId}-out`,
    KIND: kind,
    GUARANTEE: guarantee,
    BROKERS: brokers.join(','),
    STATE_DIR: path.join(root, appId),
    EXPECTED: String(N),
  });
  const done = await worker.waitFor((l) => l.event === 'done', 900_000);
  await worker.exited;
  const seconds = Number(done.seconds);
  const r: BenchCase = {
    case: caseNames[kind],
    guarantee,
    records: N,
    seconds: round(seconds),
    records_per_s: Math.round(N / seconds),
    p50_ms: null,
    p99_ms: null,
    rss_mib: Number(done.peakRssMiB),
  };
  log(`${r.case} ${guarantee}: ${r.records_per_s} records/s, peak RSS ${r.rss_mib} MiB`);
  return r;
}

let rebalance: BenchCase | undefined;

async function restoreCase(kafka: Kafka, brokers: string[]): Promise<BenchCase> {
  const input = `${run}-restore-in`;
  const appId = `${run}-restore`;
  await createTopics(kafka, [
    { topic: input, partitions: 8 },
    { topic: `${appId}-out`, partitions: 8 },
  ]);
  await preload(kafka, input, RESTORE_N, 0, log, true);
  const build = () => benchTopology('stateful', input, `${appId}-out`);
  const first = new StreamsApp(build(), {
    applicationId: appId,
    bootstrapServers: brokers,
    processingGuarantee: 'at_least_once',
    stateDir: path.join(root, `${appId}-a`),
  });
  await runToEnd(first, RESTORE_N);
  await first.close();
  // A fresh instance with an empty state directory restores every store from its changelog.
  let restoreStart = 0;
  let firstBatch = 0;
  let restored = 0;
  let done = 0;
  const second = new StreamsApp(
    build(),
    {
      applicationId: appId,
      bootstrapServers: brokers,
      processingGuarantee: 'at_least_once',
      stateDir: path.join(root, `${appId}-b`),
    },
    {
      onRestore: (_task, _store, n) => {
        // Timed from the first batch applied: that batch's records are left out of the
        // count as its fetch is out of the time (with a fetch of 32 MiB it was most of it).
        if (!restoreStart) {
          restoreStart = performance.now();
          firstBatch = n;
        }
        restored = Math.max(restored, n);
      },
    },
  );
  const peak = rssMib();
  await second.start();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const tasks = [...second.tasks.values()];
      if (tasks.length === 8 && tasks.every((t) => t.state === 'running')) {
        done = performance.now();
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const total = [...second.tasks.values()].reduce((n, t) => n + t.stats.restored, 0);
  // Scale out onto that state: a third instance joins; the tasks it is given move with
  // their state (its directory is empty, so it restores them from the changelogs). Timed
  // from its start to every task of the group running again.
  const joinAt = performance.now();
  const third = new StreamsApp(build(), {
    applicationId: appId,
    bootstrapServers: brokers,
    processingGuarantee: 'at_least_once',
    stateDir: path.join(root, `${appId}-c`),
  });
  await third.start();
  let running = 0;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const mine = [...third.tasks.values()];
      const theirs = [...second.tasks.values()];
      const all = [...mine, ...theirs];
      if (
        mine.length > 0 &&
        all.length === 8 &&
        new Set(all.map((t) => t.id)).size === 8 &&
        all.every((t) => t.state === 'running')
      ) {
        running = performance.now();
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const moved = [...third.tasks.values()];
  const movedRecords = moved.reduce((n, t) => n + t.stats.restored, 0);
  rebalance = {
    case: `rebalance onto a new instance with ${RESTORE_N} records of state: start → all 8 tasks running`,
    guarantee: 'at_least_once',
    records: movedRecords,
    seconds: round((running - joinAt) / 1000),
    records_per_s: Math.round(movedRecords / ((running - joinAt) / 1000)),
    p50_ms: null,
    p99_ms: null,
    rss_mib: rssMib(),
    tasks_moved: moved.length,
  };
  log(
    `rebalance: ${moved.length} tasks moved with ${movedRecords} records; all running after ${rebalance.seconds}s`,
  );
  await third.close();
  await second.close();
  const seconds = (done - restoreStart) / 1000;
  const r: BenchCase = {
    case: 'restore from changelog into LevelDB (fresh state dir, 8 tasks)',
    guarantee: 'at_least_once',
    records: total,
    seconds: round(seconds),
    records_per_s: Math.round((total - firstBatch) / seconds),
    p50_ms: null,
    p99_ms: null,
    rss_mib: Math.max(peak, rssMib()),
    note: 'records/s over the restore after its first batch (that batch, fetched before the clock starts, is not counted)',
  };
  log(
    `restore: ${total} records at ${r.records_per_s}/s (first batch of ${firstBatch} not counted)`,
  );
  return r;
}

async function latencyCase(
  kafka: Kafka,
  brokers: string[],
  rate: number,
  guarantee: 'at_least_once' | 'exactly_once',
): Promise<BenchCase[]> {
  const appId = `${run}-latency-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`;
  const input = `${appId}-in`;
  const output = `${appId}-out`;
  await createTopics(kafka, [
    { topic: input, partitions: 8 },
    { topic: output, partitions: 8 },
  ]);
  // The instance runs in a process of its own, as in the throughput cases: the driver's
  // producer and reader do not share its event loop.
  const worker = startChild(appId, 'bench/engine-worker.ts', [], {
    APP: appId,
    INPUT: input,
    OUTPUT: output,
    KIND: 'stateful',
    GUARANTEE: guarantee,
    BROKERS: brokers.join(','),
    STATE_DIR: path.join(root, appId),
    EXPECTED: '0',
  });
  await worker.waitFor((l) => l.event === 'running', 120_000);
  // Records produced in the first `warmup` seconds are not counted: an instance just
  // started runs unoptimised code and its first transactions, so the latency of its first
  // seconds is a start-up cost, not the steady state this case measures. Both are reported.
  const warmup = Number(process.env.BENCH_LATENCY_WARMUP_SECONDS ?? 10);
  const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
  const measured: number[] = [];
  const all: number[] = [];
  let measureFrom = Infinity;
  const consumer = kafka.consumer({
    groupId: `${appId}-reader`,
    readUncommitted: false,
    maxWaitTimeInMs: 10,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const ts = Number(m.timestamp);
        all.push(now - ts);
        if (ts >= measureFrom) measured.push(now - ts);
      }
    },
  });
  const producer = kafka.producer({ maxInFlightRequests: 5 });
  await producer.connect();
  const value = Buffer.alloc(100, 'x');
  const perTick = Math.max(1, Math.round(rate / 100));
  let sent = 0;
  let sentMeasured = 0;
  const t0 = Date.now();
  measureFrom = t0 + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  while (Date.now() < end) {
    const tick = Date.now();
    const ts = String(tick);
    await producer.send({
      topic: input,
      acks: 1,
      messages: Array.from({ length: perTick }, () => ({
        key: `k${sent++ % 10_000}`,
        value,
        timestamp: ts,
      })),
    });
    if (tick >= measureFrom) sentMeasured += perTick;
    const wait = 10 - (Date.now() - tick);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  while (all.length < sent * 0.999 && Date.now() - end < 30_000)
    await new Promise((r) => setTimeout(r, 100));
  await producer.disconnect();
  await consumer.disconnect();
  const peak = peakRssMib(worker.pid) ?? 0;
  worker.signal('SIGTERM');
  await worker.exited;
  const stats = worker.lines.find((l) => l.event === 'commit-stats');
  if (stats) log(`latency: the instance's commits ${JSON.stringify(stats)}`);
  const sorted = measured.sort((a, b) => a - b);
  const fromStart = all.sort((a, b) => a - b);
  const interval = guarantee === 'exactly_once' ? '100 ms' : '1 s';
  const name = `produce → committed output latency at ${rate} records/s (half the EOS rate), commit.interval ${interval}`;
  const r: BenchCase = {
    case: `${name}, after a ${warmup} s warm-up`,
    guarantee,
    records: sentMeasured,
    seconds,
    records_per_s: Math.round(sentMeasured / seconds),
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    rss_mib: peak,
  };
  log(
    `latency (${guarantee}): p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms over the ${sorted.length} records after the warm-up; ` +
      `from the first record p50 ${percentile(fromStart, 50)} ms, p99 ${percentile(fromStart, 99)} ms`,
  );
  return [
    r,
    {
      ...r,
      case: `${name}, from the first record (warm-up included)`,
      records: sent,
      seconds: warmup + seconds,
      records_per_s: Math.round(sent / (warmup + seconds)),
      p50_ms: percentile(fromStart, 50),
      p99_ms: percentile(fromStart, 99),
    },
  ];
}

const FAILOVER_N = Number(process.env.BENCH_FAILOVER_RECORDS ?? 2_000_000);
/** The failover cases' session timeout: how long the group takes to notice the kill. */
const FAILOVER_SESSION_MS = 3000;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 600_000) {
  for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 5)))
    if (Date.now() > end) throw new Error(`bench:engine: timed out waiting for ${what}`);
}

/**
 * Two instances of count-by-key over FAILOVER_N distinct keys (at-least-once, 8 tasks):
 * the victim in a process of its own, the survivor in this one. Once every record is
 * committed (and, with a standby, the survivor's copies of the victim's tasks caught up),
 * the victim is killed with SIGKILL; timed from the kill, and from the survivor's new
 * assignment, to all 8 tasks running on the survivor.
 */
async function failoverCase(
  kafka: Kafka,
  brokers: string[],
  input: string,
  standbys: 0 | 1,
): Promise<BenchCase> {
  const appId = `${run}-failover-${standbys}`;
  await createTopics(kafka, [{ topic: `${appId}-out`, partitions: 8 }]);
  const settings = {
    applicationId: appId,
    bootstrapServers: brokers,
    processingGuarantee: 'at_least_once' as const,
    numStandbyReplicas: standbys,
    sessionTimeout: FAILOVER_SESSION_MS,
  };
  const victim: Child = startChild(`${appId}-victim`, 'bench/engine-worker.ts', [], {
    APP: appId,
    INPUT: input,
    OUTPUT: `${appId}-out`,
    KIND: 'stateful',
    GUARANTEE: 'at_least_once',
    BROKERS: brokers.join(','),
    STATE_DIR: path.join(root, `${appId}-victim`),
    EXPECTED: '0',
    MILLRACE_NUM_STANDBY_REPLICAS: String(standbys),
    MILLRACE_SESSION_TIMEOUT: `${FAILOVER_SESSION_MS}ms`,
  });
  await victim.waitFor((l) => l.event === 'running', 300_000);
  const survivor = new StreamsApp(benchTopology('stateful', input, `${appId}-out`), {
    ...settings,
    stateDir: path.join(root, `${appId}-survivor`),
  });
  await survivor.start();
  const admin = kafka.admin();
  await admin.connect();
  const parts = Array.from({ length: 8 }, (_, partition) => ({ topic: input, partition }));
  await until('two instances with 4 running tasks each, every record committed', async () => {
    const tasks = [...survivor.tasks.values()];
    if (tasks.length !== 4 || tasks.some((t) => t.state !== 'running')) return false;
    const lag = await committedLag(admin, appId, parts);
    return lag.every((l) => l.lag === 0);
  });
  await admin.disconnect();
  const copies = () => [...(survivor.group?.standbyTasks.values() ?? [])];
  if (standbys)
    await until('standby copies of the victim’s 4 tasks caught up', () => {
      const c = copies();
      return c.length === 4 && c.every((s) => s.lag === 0);
    });
  const held = survivor.group?.group?.generation;
  const before = new Set(survivor.tasks.keys());
  victim.signal('SIGKILL');
  const killedAt = performance.now();
  const killedAtMs = Date.now();
  await victim.exited;
  await until('all 8 tasks running on the survivor', () => {
    const tasks = [...survivor.tasks.values()];
    return tasks.length === 8 && tasks.every((t) => t.state === 'running');
  });
  const seconds = (performance.now() - killedAt) / 1000;
  const g = survivor.group!.group!;
  const assignedAfter = g.generation !== held ? (g.receivedAt - killedAtMs) / 1000 : null;
  const moved = [...survivor.tasks.values()].filter((t) => !before.has(t.id));
  const restored = moved.reduce((n, t) => n + t.stats.restored, 0);
  await survivor.close();
  const r: BenchCase = {
    case: `failover, ${standbys} standby: the owner of half of ${FAILOVER_N} records of state kill -9'd → all 8 tasks running on the survivor`,
    guarantee: 'at_least_once',
    records: restored,
    seconds: round(seconds),
    records_per_s: null,
    p50_ms: null,
    p99_ms: null,
    rss_mib: rssMib(),
    tasks_moved: moved.length,
    session_timeout_ms: FAILOVER_SESSION_MS,
    assignment_after_kill_s: assignedAfter === null ? null : round(assignedAfter),
    running_after_assignment_s: assignedAfter === null ? null : round(seconds - assignedAfter),
  };
  log(
    `failover ${standbys} standby: ${moved.length} tasks moved, ${restored} records restored; assigned ${r.assignment_after_kill_s}s after the kill, all running ${r.seconds}s after it`,
  );
  return r;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

const cfg = loadConfig();
const started = await up({ services: ['kafka'], progress: log }, cfg);
const brokers = endpoints(cfg).kafkaBrokers;
const kafka = createKafka({ brokers, clientId: run });
try {
  const input = `${run}-in`;
  const results: BenchCase[] = [];
  // BENCH_CASES=stateful,latency (comma separated) runs only the cases named; all by default.
  const only = process.env.BENCH_CASES?.split(',').map((w) => w.trim());
  const wanted = (name: string) => !only || only.includes(name);
  await createTopics(kafka, [{ topic: input, partitions: 8 }]);
  const kinds = ['stateless', 'stateful', 'stateful-on-commit'] as const;
  if (kinds.some(wanted)) await preload(kafka, input, N, 10_000, log);
  for (const kind of kinds)
    for (const g of ['at_least_once', 'exactly_once'] as const)
      if (wanted(kind)) results.push(await throughputCase(kafka, brokers, input, kind, g));
  if (wanted('restore')) {
    results.push(await restoreCase(kafka, brokers));
    if (rebalance) results.push(rebalance);
  }
  const eos = results.find((r) => r.case === caseNames.stateful && r.guarantee === 'exactly_once');
  // Half the measured exactly-once rate, or BENCH_LATENCY_RATE when that case did not run.
  const rate = eos
    ? Math.round(eos.records_per_s! / 2)
    : Number(process.env.BENCH_LATENCY_RATE ?? 30_000);
  if (wanted('latency')) results.push(...(await latencyCase(kafka, brokers, rate, 'exactly_once')));
  if (wanted('latency-alos'))
    results.push(...(await latencyCase(kafka, brokers, rate, 'at_least_once')));
  if (wanted('failover')) {
    const failoverInput = `${run}-failover-in`;
    await createTopics(kafka, [{ topic: failoverInput, partitions: 8 }]);
    await preload(kafka, failoverInput, FAILOVER_N, 0, log, true);
    for (const standbys of [0, 1] as const)
      results.push(await failoverCase(kafka, brokers, failoverInput, standbys));
  }
  const file = writeResults(
    'engine',
    'npm run bench:engine',
    results,
    'Throughput and latency cases: one instance in its own process (peak RSS = its VmHWM). Restore cases run in the bench process (RSS includes the driver). Broker on the same 2-core machine.',
  );
  log(`wrote ${file}`);
} finally {
  await deleteTopicsWithPrefix(kafka, run);
  fs.rmSync(root, { recursive: true, force: true });
  await down(started, cfg);
}
