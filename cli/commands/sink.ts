/**
 * `millrace sink`: the finnhub-vwap pipeline's warehouse sink as its own process —
 * `trades.clean` → `trades`, `vwap.1m` → `vwap_1m`, rows and source offsets in one
 * warehouse transaction per batch, resuming from the offsets stored in the warehouse.
 * DuckDB (embedded file) by default; Snowflake when `SNOWFLAKE_ACCOUNT` is set.
 *
 * This file is the orchestration; cli/sink/ holds its settings and what it reports.
 */
import { environment } from '../../connectors/finnhub/env-file.js';
import { Metrics } from '../../observability/metrics.js';
import { processView, startServer, type RunningServer } from '../../observability/server.js';
import { createLogger, type Logger } from '../../runtime/log.js';
import { startPipelineSink, type RunningPipelineSink } from '../../apps/finnhub-vwap/sink.js';
import { parseArgs } from '../args.js';
import { EXIT } from '../errors.js';
import type { Command } from '../command.js';
import { say, SinkReport } from '../sink/report.js';
import { SINK_FLAGS, sinkSettings, type SinkSettings } from '../sink/settings.js';

/** What readiness reports before the sink is up, and after it failed. */
class Readiness {
  ready = false;
  failure: string | null = null;

  notReady(): string | null {
    return this.failure ?? (this.ready ? null : 'connecting to the warehouse and Kafka');
  }
}

interface Running {
  server: RunningServer;
  /** Absent while the sink is starting. */
  sink?: RunningPipelineSink;
  log: Logger;
  done: (code: number) => void;
}

/** Starts the sink; `onFatal` runs if it fails for good later. */
async function start(
  s: SinkSettings,
  parts: { server: RunningServer; report: SinkReport; log: Logger },
  onFatal: (err: unknown) => void,
): Promise<RunningPipelineSink> {
  let commits = 0;
  const onBatch: Parameters<typeof startPipelineSink>[0]['onBatch'] = (b) => {
    // Fault injection for tests: SIGKILL right after the N-th warehouse commit, before
    // anything else happens (the crash window the offsets-in-the-warehouse design covers).
    if (++commits === s.killAfterCommits) process.kill(process.pid, 'SIGKILL');
    parts.report.batch(b);
  };
  const onDeadLetter = (d: { reason: string; source: string }) => parts.report.deadLetter(d);
  return startPipelineSink({ ...s.sink, log: parts.log, onBatch, onDeadLetter }, onFatal).catch(
    async (err: unknown) => {
      await parts.server.close();
      throw err;
    },
  );
}

/** The sink failed for good: stop it, close the server, exit 3. */
function failed(r: Running, readiness: Readiness, report: SinkReport, err: unknown): void {
  readiness.failure = (err as Error)?.message ?? String(err);
  r.log.error('sink failed; stopping', { error: err });
  report.failed(readiness.failure);
  void (r.sink?.stop() ?? Promise.resolve())
    .catch(() => {})
    .finally(() => void r.server.close().then(() => r.done(EXIT.external)));
}

/** SIGTERM/SIGINT: write the last batch and stop; a second one exits at once. */
function stopOnSignals(r: Required<Running>): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      say({ event: 'signal', msg: `second ${sig}: exiting now` });
      process.exit(130);
    }
    stopping = true;
    say({ event: 'signal', msg: `${sig}: flushing the last batch and stopping` });
    void r.sink
      .stop()
      .then(
        () => EXIT.ok,
        (err: unknown) => {
          r.log.error('stop failed', { error: err });
          return EXIT.external;
        },
      )
      .then(async (code) => {
        await r.server.close();
        say({ event: 'stopped' });
        r.done(code);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function runSink(s: SinkSettings): Promise<number> {
  const sinkId = s.sink.sinkId;
  const log = createLogger(s.logLevel, { component: 'sink', sink: sinkId });
  const metrics = new Metrics({ defaultLabels: { sink: sinkId } });
  const report = new SinkReport(metrics);
  const readiness = new Readiness();
  const view = processView(sinkId, 'warehouse offsets', () => readiness.notReady());
  const server = await startServer(metrics, view, { port: s.metricsPort, host: s.metricsHost });
  let done!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (done = resolve));
  const running: Running = { server, log, done: (code) => done(code) };
  const sink = await start(s, { server, report, log }, (err) =>
    failed(running, readiness, report, err),
  );
  running.sink = sink;
  readiness.ready = true;
  const warehouse = sink.warehouse.kind;
  say({ event: 'started', sink: sinkId, warehouse, metrics: `${server.url}/metrics` });
  stopOnSignals({ ...running, sink });
  return exited;
}

export const sinkCommand: Command = {
  name: 'sink',
  summary:
    'Write the pipeline to the warehouse (DuckDB file by default, Snowflake with SNOWFLAKE_ACCOUNT)',
  usage:
    'millrace sink [--warehouse duckdb|snowflake] [--duckdb FILE] [--sink-id ID] [--dedupe-key symbol+timestamp|content] [--session-timeout 30s] [--fetch-max-bytes N] [--max-partition-fetch-bytes N] [--brokers H:P,…] [--registry URL] [--metrics-port N] [--metrics-host H]',
  async run(argv) {
    const a = parseArgs(argv, { values: SINK_FLAGS });
    if (a.flags.help || a.positionals.length) return this.help();
    return runSink(sinkSettings(a.flags, environment()));
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Consumes trades.clean and vwap.1m (read_committed) and upserts them into the tables trades and vwap_1m.\n` +
        `Each batch of rows and the source offsets it came from commit in ONE warehouse transaction (table\n` +
        `millrace_offsets); on start the sink resumes from those offsets, so a crash at any moment neither loses\n` +
        `nor duplicates a row. Only one DuckDB sink may write a file at a time. A record it cannot read (not the\n` +
        `topic's Avro, a schema id the registry never issued) or whose row does not fit its table goes to\n` +
        `warehouse.dlq with millrace.reason and millrace.source.* headers (the topic is created on the first\n` +
        `one), and the sink goes on.\n\n` +
        `  --warehouse W      duckdb (default) or snowflake (default when SNOWFLAKE_ACCOUNT is set)\n` +
        `  --duckdb FILE      DuckDB file (default MILLRACE_DUCKDB_PATH or data/millrace.duckdb); DuckDB's threads\n` +
        `                     and checkpoint threshold: MILLRACE_DUCKDB_THREADS (default 1),\n` +
        `                     MILLRACE_DUCKDB_CHECKPOINT_THRESHOLD (default 64MB)\n` +
        `  --sink-id ID       consumer group and key in millrace_offsets (default finnhub-vwap-sink)\n` +
        `  --dedupe-key K     trades primary key: symbol+timestamp (default) or content — as the processing app\n` +
        `  --session-timeout D  consumer-group session (default MILLRACE_SINK_SESSION_TIMEOUT or 30s): a sink that\n` +
        `                     died keeps its partitions this long, so its replacement waits as long; keep it above\n` +
        `                     the slowest warehouse write (heartbeats pause while one runs)\n` +
        `  --fetch-max-bytes N  bytes one fetch returns, in all (default MILLRACE_FETCH_MAX_BYTES or 1048576,\n` +
        `                     as a streams instance); a fetch stays in memory until its rows are written\n` +
        `  --max-partition-fetch-bytes N  the same per partition (default MILLRACE_MAX_PARTITION_FETCH_BYTES\n` +
        `                     or 262144)\n` +
        `  --brokers LIST     Kafka bootstrap servers (default MILLRACE_BOOTSTRAP_SERVERS or 127.0.0.1:9092)\n` +
        `  --registry URL     schema registry (default MILLRACE_REGISTRY_URL)\n` +
        `  --metrics-port N   /metrics, /healthz, /readyz (default 9465; 0 picks a free port)\n` +
        `Snowflake: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_WAREHOUSE,\n` +
        `SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, SNOWFLAKE_ROLE (environment or ./.env; never printed).\n` +
        `SIGTERM/SIGINT: write the last batch and stop; twice: exit at once.\n` +
        `Exit codes: 0 ok, 2 bad flag or config, 3 Kafka, registry or warehouse unreachable, 1 internal.\n`,
    );
    return EXIT.ok;
  },
};
