/**
 * `millrace sink`: the finnhub-vwap pipeline's warehouse sink as its own process —
 * `trades.clean` → `trades`, `vwap.1m` → `vwap_1m`, rows and source offsets in one
 * warehouse transaction per batch, resuming from the offsets stored in the warehouse.
 * DuckDB (embedded file) by default; Snowflake when `SNOWFLAKE_ACCOUNT` is set.
 */
import { environment } from '../../connectors/finnhub/env-file.js';
import { Metrics } from '../../observability/metrics.js';
import { processView, startServer } from '../../observability/server.js';
import { sinkMetricsFor } from '../../observability/sink.js';
import { parseDuration } from '../../runtime/duration.js';
import { createLogger, type LogLevel } from '../../runtime/log.js';
import { startPipelineSink, type WarehouseKind } from '../../apps/finnhub-vwap/sink.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import type { Command } from '../command.js';

const say = (o: object) =>
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...o }) + '\n');

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T))
    throw new UsageError(`--${name} ${String(v)}: use one of ${allowed.join(', ')}`);
  return v as T;
}

/** `--session-timeout`: a duration the broker accepts (its default range is 6 s – 5 min). */
function sessionTimeoutOf(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(String(v));
  if (ms === undefined || ms < 6000 || ms > 300_000)
    throw new UsageError(
      `--session-timeout ${String(v)}: use a duration between 6s and 5m, e.g. 10s (MILLRACE_SINK_SESSION_TIMEOUT likewise)`,
    );
  return ms;
}

/**
 * `--fetch-max-bytes` / `--max-partition-fetch-bytes`: whole bytes, 1 KiB – 1 GiB (the
 * range a streams instance accepts for the same settings, whose variables they share).
 */
export function fetchBytesOf(v: unknown, flag: string, variable: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1024 || n > 1 << 30)
    throw new UsageError(
      `--${flag} ${String(v)}: write a whole number of bytes from 1024 to 1073741824, e.g. 1048576 for 1 MiB (${variable} likewise)`,
    );
  return n;
}

export const sinkCommand: Command = {
  name: 'sink',
  summary:
    'Write the pipeline to the warehouse (DuckDB file by default, Snowflake with SNOWFLAKE_ACCOUNT)',
  usage:
    'millrace sink [--warehouse duckdb|snowflake] [--duckdb FILE] [--sink-id ID] [--dedupe-key symbol+timestamp|content] [--session-timeout 30s] [--fetch-max-bytes N] [--max-partition-fetch-bytes N] [--brokers H:P,…] [--registry URL] [--metrics-port N] [--metrics-host H]',
  async run(argv) {
    const a = parseArgs(argv, {
      values: [
        'warehouse',
        'duckdb',
        'sink-id',
        'dedupe-key',
        'session-timeout',
        'fetch-max-bytes',
        'max-partition-fetch-bytes',
        'brokers',
        'registry',
        'metrics-port',
        'metrics-host',
        'log-level',
      ],
    });
    if (a.flags.help || a.positionals.length) return this.help();
    const env = environment();
    const warehouse = oneOf<WarehouseKind>(a.flags.warehouse, 'warehouse', ['duckdb', 'snowflake']);
    const dedupeKey = oneOf(a.flags['dedupe-key'], 'dedupe-key', [
      'symbol+timestamp',
      'content',
    ] as const);
    const logLevel =
      oneOf<LogLevel>(a.flags['log-level'] ?? env.MILLRACE_LOG_LEVEL, 'log-level', [
        'error',
        'warn',
        'info',
        'debug',
      ]) ?? 'info';
    const sessionTimeoutMs = sessionTimeoutOf(
      a.flags['session-timeout'] ?? env.MILLRACE_SINK_SESSION_TIMEOUT,
    );
    const fetchMaxBytes = fetchBytesOf(
      a.flags['fetch-max-bytes'] ?? env.MILLRACE_FETCH_MAX_BYTES,
      'fetch-max-bytes',
      'MILLRACE_FETCH_MAX_BYTES',
    );
    const maxPartitionFetchBytes = fetchBytesOf(
      a.flags['max-partition-fetch-bytes'] ?? env.MILLRACE_MAX_PARTITION_FETCH_BYTES,
      'max-partition-fetch-bytes',
      'MILLRACE_MAX_PARTITION_FETCH_BYTES',
    );
    const sinkId = String(a.flags['sink-id'] ?? env.MILLRACE_SINK_ID ?? 'finnhub-vwap-sink');
    const log = createLogger(logLevel, { component: 'sink', sink: sinkId });
    const metrics = new Metrics({ defaultLabels: { sink: sinkId } });
    const { batchRows, written, transaction: txn, e2e, errors } = sinkMetricsFor(metrics);
    // Fault injection for tests: SIGKILL ourselves right after the N-th warehouse commit,
    // before anything else happens (the crash window the offsets-in-the-warehouse design covers).
    const killAfter = Number(env.MILLRACE_FAULT_SINK_KILL_AFTER_COMMITS ?? 0);
    let commits = 0;
    let ready = false;
    let failure: string | null = null;

    const view = processView(
      sinkId,
      'warehouse offsets',
      () => failure ?? (ready ? null : 'connecting to the warehouse and Kafka'),
    );
    const server = await startServer(metrics, view, {
      port: Number(a.flags['metrics-port'] ?? env.MILLRACE_SINK_METRICS_PORT ?? 9465),
      host: (a.flags['metrics-host'] as string | undefined) ?? '127.0.0.1',
    });

    let resolveDone!: (code: number) => void;
    const done = new Promise<number>((r) => (resolveDone = r));
    const sink = await startPipelineSink(
      {
        brokers: String(
          a.flags.brokers ?? env.MILLRACE_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092',
        ).split(','),
        registryUrl: String(
          a.flags.registry ?? env.MILLRACE_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
        ),
        warehouse,
        duckdbPath: (a.flags.duckdb as string | undefined) ?? env.MILLRACE_DUCKDB_PATH,
        duckdb: {
          ...(env.MILLRACE_DUCKDB_THREADS ? { threads: Number(env.MILLRACE_DUCKDB_THREADS) } : {}),
          ...(env.MILLRACE_DUCKDB_CHECKPOINT_THRESHOLD
            ? { checkpointThreshold: env.MILLRACE_DUCKDB_CHECKPOINT_THRESHOLD }
            : {}),
        },
        sinkId,
        dedupeKey,
        sessionTimeoutMs,
        fetchMaxBytes,
        maxPartitionFetchBytes,
        env,
        log,
        onBatch: (b) => {
          commits++;
          if (killAfter > 0 && commits === killAfter) process.kill(process.pid, 'SIGKILL');
          const now = Date.now();
          txn.observe(b.seconds);
          for (const [table, n] of Object.entries(b.tables)) {
            batchRows.observe({ table }, n);
            written.inc({ table }, n);
          }
          for (const t of b.tradeTimestamps) e2e.observe({ from: 'trade' }, (now - t) / 1000);
          for (const t of b.ingestTimestamps) e2e.observe({ from: 'ingest' }, (now - t) / 1000);
          say({ event: 'batch', rows: b.rows, tables: b.tables, ms: Math.round(b.seconds * 1000) });
        },
      },
      (err) => {
        failure = (err as Error)?.message ?? String(err);
        errors.inc({ kind: 'fatal' });
        log.error('sink failed; stopping', { error: err });
        say({ event: 'failed', error: failure });
        void sink
          ?.stop()
          .catch(() => {})
          .finally(() => void server.close().then(() => resolveDone(EXIT.external)));
      },
    ).catch(async (err: unknown) => {
      await server.close();
      throw err;
    });
    ready = true;
    say({
      event: 'started',
      sink: sinkId,
      warehouse: sink.warehouse.kind,
      metrics: `${server.url}/metrics`,
    });

    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        say({ event: 'signal', msg: `second ${sig}: exiting now` });
        process.exit(130);
      }
      stopping = true;
      say({ event: 'signal', msg: `${sig}: flushing the last batch and stopping` });
      void sink
        .stop()
        .then(
          () => EXIT.ok,
          (err: unknown) => {
            log.error('stop failed', { error: err });
            return EXIT.external;
          },
        )
        .then(async (code) => {
          await server.close();
          say({ event: 'stopped' });
          resolveDone(code);
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return done;
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Consumes trades.clean and vwap.1m (read_committed) and upserts them into the tables trades and vwap_1m.\n` +
        `Each batch of rows and the source offsets it came from commit in ONE warehouse transaction (table\n` +
        `millrace_offsets); on start the sink resumes from those offsets, so a crash at any moment neither loses\n` +
        `nor duplicates a row. Only one DuckDB sink may write a file at a time.\n\n` +
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
