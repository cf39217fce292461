/**
 * `npm run bench:pipeline`: the flagship end to end on the real broker and registry,
 * every part its own process as a user runs it (`millrace ingest`, `millrace run
 * apps/finnhub-vwap` — one instance, exactly-once —, `millrace sink` into a DuckDB file),
 * from the built CLI with plain node as an installed package runs (dist/, built first).
 *
 *   - throughput: BENCH_TRADES synthetic trades (50 symbols) preloaded into trades.raw;
 *     measured from the instance's start to the last `trades` row committed in DuckDB,
 *     and, separately, to the last raw message processed. Peak RSS (VmHWM) of the
 *     processing instance. CPU seconds (and µs per trade) of the instances, of the sink
 *     and of the rest of the machine (the broker above all) from the first record on:
 *     on a machine of two cores these say what limits the rate.
 *   - latency: the synthetic market live at BENCH_LATENCY_RATE trades/s (default 10 000)
 *     for BENCH_LATENCY_SECONDS; p50/p99 from the trade's ingest (produce) time to its
 *     row committed in DuckDB, from the sink's `millrace_e2e_latency_seconds` histogram
 *     (bucket bounds: 0.01 0.05 0.1 0.25 0.5 1 2 5 10 … s, interpolated linearly).
 *
 * Starts the local stack if it is not running (and stops only what it started).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { endpoints, loadConfig } from '../deploy/local/config.js';
import { down, up } from '../deploy/local/infra.js';
import { createKafka } from '../connectors/kafka/client.js';
import { createTopics, deleteTopicsWithPrefix } from '../connectors/kafka/topics.js';
import type { Child } from '../harness/processes.js';
import { BUILT_FLAGSHIP, buildCli, startBuiltCli } from './lib/built-cli.js';
import { peakRssMib, writeResults, type BenchCase } from './lib/results.js';
import { sumSamples } from '../observability/metrics.js';
import { freePort } from '../harness/ports.js';
import { CpuWindow } from './lib/procstat.js';

const TRADES = Number(process.env.BENCH_TRADES ?? 400_000);
const LAT_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 10_000);
const LAT_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 60);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-pipeline-'));
const log = (m: string) => process.stderr.write(`[bench:pipeline] ${m}\n`);

async function scrape(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
}

/** Waits for a `millrace ingest` to finish and returns its `ingest_done` line. */
async function ingestDone(ingest: Child): Promise<Record<string, unknown>> {
  if ((await ingest.exited) !== 0) throw new Error(`ingest failed: ${ingest.stderr.join('')}`);
  return ingest.lines.find((l) => l.event === 'ingest_done')!;
}

/** Quantile from a Prometheus histogram's cumulative buckets (linear within a bucket). */
function histogramQuantile(text: string, name: string, filter: string, q: number): number | null {
  const buckets: Array<[number, number]> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket`) || !line.includes(filter)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (!le) continue;
    buckets.push([
      le === '+Inf' ? Infinity : Number(le),
      Number(line.slice(line.lastIndexOf(' ') + 1)),
    ]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const within = count - prevCount;
      return prevLe + (within ? ((rank - prevCount) / within) * (le - prevLe) : 0);
    }
    prevLe = le;
    prevCount = count;
  }
  return null;
}

/**
 * BENCH_PROFILE_DIR=dir: the processing instances and the sink write a CPU profile there
 * when they stop (`node --cpu-prof`), to see where the time goes.
 */
function profiled(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const metricsUrl = (c: Child) => String(c.lines.find((l) => l.event === 'started')?.metrics ?? '');

/**
 * Waits until the sink's `trades` rows stop changing for 3 s; returns the count and when
 * it last changed (performance.now()).
 */
async function sinkSettled(sink: Child, what: string): Promise<{ rows: number; at: number }> {
  let rows = -1;
  let at = performance.now();
  await until(
    async () => {
      const n = sumSamples(
        await scrape(metricsUrl(sink)),
        'millrace_sink_rows_written_total',
        'table="trades"',
      );
      if (n !== rows) {
        rows = n;
        at = performance.now();
      }
      return n > 0 && performance.now() - at > 3000;
    },
    what,
    600_000,
  );
  return { rows, at };
}

async function throughput(
  instances: number,
  env: Record<string, string>,
  prefix: string,
): Promise<BenchCase> {
  const frames = Math.ceil(TRADES / 1.94);
  const start = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  log(`preloading about ${TRADES} trades (${frames} frames) into ${prefix}trades.raw`);
  const ingest = startBuiltCli(
    'ingest',
    [
      'ingest',
      '--count',
      String(frames),
      '--rate',
      '1000',
      '--max-speed',
      '--seed',
      '7',
      '--start',
      String(start),
      '--partitions',
      '8',
      '--quiet',
    ],
    env,
  );
  const done = await ingestDone(ingest);
  const trades = Number(done.trades);
  const messages = Number(done.trade_messages_produced);
  log(`preloaded ${trades} trades in ${messages} messages`);

  // Known metrics ports, so the driver can watch for the first record from the start (a
  // port 0 is known only from the 'started' line, printed once the group is joined).
  const ports = await Promise.all(Array.from({ length: instances }, () => freePort()));
  const t0 = performance.now();
  const runs = Array.from({ length: instances }, (_, i) =>
    startBuiltCli(
      `run-${i}`,
      [
        'run',
        BUILT_FLAGSHIP,
        '--app-id',
        `${prefix}bench`.replace(/\./g, '-'),
        '--metrics-port',
        String(ports[i]),
        '--state-dir',
        path.join(root, `state-${i}`),
      ],
      env,
      profiled(),
    ),
  );
  const sink = startBuiltCli(
    'sink',
    [
      'sink',
      '--duckdb',
      // Each case its own warehouse: the cases' trades have the same keys (same seed and
      // start), and a sink upserting onto the rows of the case before is a replay, far slower.
      path.join(root, `bench-${instances}.duckdb`),
      '--sink-id',
      `${prefix}sink`,
      '--metrics-port',
      '0',
    ],
    env,
    profiled(),
  );
  // The first record consumed: polled every 50 ms from the instances' start (the sustained
  // rate is measured from there, as bench:engine's are; start-up, the group join and the
  // restore of empty state come before it).
  let firstAt = 0;
  const firstRecord = (async () => {
    while (!firstAt) {
      for (const port of ports) {
        const n = await scrape(`http://127.0.0.1:${port}/metrics`)
          .then((t) => sumSamples(t, 'millrace_records_processed_total'))
          .catch(() => 0);
        if (n > 0 && !firstAt) firstAt = performance.now();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all([...runs, sink].map((c) => c.waitFor((l) => l.event === 'started', 90_000)));
  await firstRecord;
  // Where the CPU goes from the first record on: the instances, the sink, and the rest of
  // the machine (the broker, the registry, this driver, anything else running).
  const cpu = new CpuWindow([...runs.map((r) => r.pid), sink.pid]);
  const processed = async () => {
    let n = 0;
    for (const r of runs)
      n += sumSamples(await scrape(metricsUrl(r)), 'millrace_records_processed_total');
    return n;
  };
  let processedAt = 0;
  await until(
    async () => {
      const n = await processed();
      if (n >= messages && !processedAt) processedAt = performance.now();
      return n >= messages;
    },
    'the instance to process every raw message',
    600_000,
  );
  // trades.clean holds what survives validate + dedupe; the instance counts what it dropped.
  let dlqRecords = 0;
  for (const r of runs)
    dlqRecords += sumSamples(await scrape(metricsUrl(r)), 'millrace_dlq_records_total');
  const { rows: lastRows, at: rowsAt } = await sinkSettled(sink, 'the sink to write every row');
  const used = cpu.end();
  const runCpu = runs.reduce((a, r) => a + (used.perPid.get(r.pid) ?? 0), 0);
  const sinkCpu = used.perPid.get(sink.pid) ?? 0;
  const perTradeUs = (s: number) => Math.round((s / trades) * 1e7) / 10;
  const runRss = Math.max(...runs.map((r) => peakRssMib(r.pid) ?? 0));
  const sinkRss = peakRssMib(sink.pid);
  for (const r of runs) r.signal('SIGTERM');
  sink.signal('SIGTERM');
  await Promise.all([...runs.map((r) => r.exited), sink.exited]);
  const seconds = (rowsAt - t0) / 1000;
  const processSeconds = (processedAt - t0) / 1000;
  const sustainedSeconds = (rowsAt - firstAt) / 1000;
  return {
    case: `pipeline throughput: trades.raw → DuckDB (${instances} instance${instances > 1 ? 's' : ''}, exactly_once)`,
    guarantee: 'exactly_once',
    records: trades,
    seconds: Math.round(seconds * 1000) / 1000,
    records_per_s: Math.round(trades / seconds),
    p50_ms: null,
    p99_ms: null,
    rss_mib: runRss,
    processing_only_trades_per_s: Math.round(trades / processSeconds),
    start_to_first_record_s: Math.round((firstAt - t0) / 100) / 10,
    sustained_trades_per_s: Math.round(trades / sustainedSeconds),
    trades_rows_written: lastRows,
    dlq_records: dlqRecords,
    instances,
    sink_peak_rss_mib: sinkRss,
    cpu_seconds: {
      instances: Math.round(runCpu * 10) / 10,
      sink: Math.round(sinkCpu * 10) / 10,
      rest_of_machine: Math.round(used.others * 10) / 10,
    },
    cpu_us_per_trade: {
      instances: perTradeUs(runCpu),
      sink: perTradeUs(sinkCpu),
      rest_of_machine: perTradeUs(used.others),
    },
    note: 'cpu_seconds (and per trade) from the first record consumed to 3 s after the last row, the rest of the machine being the broker, the registry, this driver and anything else running; seconds (and records_per_s) from the instance start (includes start-up, join, restore of empty state) to the last trades row committed in DuckDB; sustained_trades_per_s from the first record consumed to that last row',
  };
}

async function latencyCase(env: Record<string, string>, prefix: string): Promise<BenchCase> {
  // The instance starts before the live ingest: the topics must exist first.
  await createTopics(
    createKafka({ brokers: env.MILLRACE_BOOTSTRAP_SERVERS!.split(','), clientId: 'bench-topics' }),
    ['trades.raw', 'finnhub.dlq', 'trades.clean', 'vwap.1m', 'trades.dlq'].map((t) => ({
      topic: `${prefix}${t}`,
      partitions: 8,
    })),
  );
  const run = startBuiltCli(
    'run-live',
    [
      'run',
      BUILT_FLAGSHIP,
      '--app-id',
      `${prefix}live`.replace(/\./g, '-'),
      '--metrics-port',
      '0',
      '--state-dir',
      path.join(root, 'state-live'),
    ],
    env,
  );
  const sink = startBuiltCli(
    'sink-live',
    [
      'sink',
      '--duckdb',
      path.join(root, 'live.duckdb'),
      '--sink-id',
      `${prefix}sink-live`,
      '--metrics-port',
      '0',
    ],
    env,
  );
  await Promise.all([run, sink].map((c) => c.waitFor((l) => l.event === 'started', 90_000)));
  log(`live synthetic market at ${LAT_RATE} trades/s for ${LAT_SECONDS} s`);
  const ingest = startBuiltCli(
    'ingest-live',
    [
      'ingest',
      '--rate',
      String(LAT_RATE),
      '--seed',
      '8',
      '--duration',
      `${LAT_SECONDS}s`,
      '--partitions',
      '8',
      '--quiet',
    ],
    env,
  );
  const done = await ingestDone(ingest);
  const fedAt = performance.now();
  // Wait for the pipeline to drain (rows stable for 3 s): quantiles over only the rows
  // written by the end of the feed would hide a backlog.
  const { at: changedAt } = await sinkSettled(sink, 'the live pipeline to drain');
  const drainSeconds = Math.max(0, (changedAt - fedAt) / 1000);
  const text = await scrape(metricsUrl(sink));
  const f = 'from="ingest"';
  const p50 = histogramQuantile(text, 'millrace_e2e_latency_seconds', f, 0.5);
  const p99 = histogramQuantile(text, 'millrace_e2e_latency_seconds', f, 0.99);
  const runRss = peakRssMib(run.pid);
  run.signal('SIGTERM');
  sink.signal('SIGTERM');
  await Promise.all([run.exited, sink.exited]);
  return {
    case: `pipeline latency at ${LAT_RATE} trades/s: ingest produce → row committed in DuckDB`,
    guarantee: 'exactly_once',
    records: Number(done.trades),
    seconds: Number(done.seconds),
    records_per_s: Number(done.trades_per_s),
    p50_ms: p50 === null ? null : Math.round(p50 * 1000),
    p99_ms: p99 === null ? null : Math.round(p99 * 1000),
    rss_mib: runRss,
    rows_observed: sumSamples(text, 'millrace_e2e_latency_seconds_count', f),
    drain_seconds_after_feed: Math.round(drainSeconds * 10) / 10,
    note: 'quantiles interpolated within the histogram buckets 0.01 0.05 0.1 0.25 0.5 1 2 5 10 s',
  };
}

buildCli(log);
const cfg = loadConfig();
const started = await up({ services: ['kafka', 'registry'] }, cfg);
const ep = endpoints(cfg);
const runId = `bench-${randomUUID().slice(0, 6)}`;
const kafka = createKafka({ brokers: ep.kafkaBrokers, clientId: 'bench-pipeline' });
const results: BenchCase[] = [];
const prefixes: string[] = [];
try {
  const cases = [
    { name: 'throughput-1', run: (e: Record<string, string>, p: string) => throughput(1, e, p) },
    { name: 'throughput-2', run: (e: Record<string, string>, p: string) => throughput(2, e, p) },
    { name: 'latency', run: latencyCase },
  ];
  for (const c of cases) {
    if (
      process.env.BENCH_CASES &&
      !process.env.BENCH_CASES.split(',').some((w) => c.name.includes(w))
    )
      continue;
    // Each case its own topics: the latency histogram must not see the other case's rows.
    const prefix = `${runId}-${c.name}.`;
    prefixes.push(prefix);
    const env = {
      MILLRACE_BOOTSTRAP_SERVERS: ep.kafkaBrokers.join(','),
      MILLRACE_REGISTRY_URL: ep.registryUrl,
      MILLRACE_TOPIC_PREFIX: prefix,
    };
    const r = await c.run(env, prefix);
    log(`${r.case}: ${JSON.stringify(r)}`);
    results.push(r);
  }
} finally {
  for (const prefix of prefixes) {
    await deleteTopicsWithPrefix(kafka, prefix).catch(() => {});
    await deleteTopicsWithPrefix(kafka, prefix.replace(/\./g, '-')).catch(() => {});
  }
  fs.rmSync(root, { recursive: true, force: true });
  if (started.length) await down(started, cfg);
}
if (!process.env.BENCH_CASES) {
  const file = writeResults(
    'pipeline',
    'npm run bench:pipeline',
    results,
    `${TRADES} synthetic trades (50 symbols) for throughput; live at ${LAT_RATE}/s for ${LAT_SECONDS} s for latency. ` +
      'Targets (issue 6): ≥ 30k trades/s into DuckDB with exactly-once, p99 ≤ 2 s at 10k/s, processing instance peak RSS ≤ 300 MiB.',
  );
  log(`wrote ${file}`);
}
