/**
 * What `millrace sink` runs with: flags first, then `MILLRACE_*` variables (environment or
 * `./.env`), then defaults. A bad value names the flag, its variable and the fix.
 */
import type { Parsed } from '../args.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../../runtime/duration.js';
import type { LogLevel } from '../../runtime/log.js';
import type { PipelineSinkOptions, WarehouseKind } from '../../apps/finnhub-vwap/sink.js';

export const SINK_FLAGS = [
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
];

type Env = Record<string, string | undefined>;

/** The pipeline sink's options (no logger or hooks yet), and the command's own settings. */
export interface SinkSettings {
  sink: Omit<PipelineSinkOptions, 'log' | 'onBatch'> & { sinkId: string };
  logLevel: LogLevel;
  metricsPort: number;
  metricsHost: string;
  /** Fault injection for tests: SIGKILL itself right after this many commits (0: never). */
  killAfterCommits: number;
}

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

/** DuckDB's threads and checkpoint threshold, from the environment. */
function duckdbTuning(env: Env): PipelineSinkOptions['duckdb'] {
  return {
    ...(env.MILLRACE_DUCKDB_THREADS ? { threads: Number(env.MILLRACE_DUCKDB_THREADS) } : {}),
    ...(env.MILLRACE_DUCKDB_CHECKPOINT_THRESHOLD
      ? { checkpointThreshold: env.MILLRACE_DUCKDB_CHECKPOINT_THRESHOLD }
      : {}),
  };
}

function fetchSizes(f: Parsed['flags'], env: Env) {
  return {
    fetchMaxBytes: fetchBytesOf(
      f['fetch-max-bytes'] ?? env.MILLRACE_FETCH_MAX_BYTES,
      'fetch-max-bytes',
      'MILLRACE_FETCH_MAX_BYTES',
    ),
    maxPartitionFetchBytes: fetchBytesOf(
      f['max-partition-fetch-bytes'] ?? env.MILLRACE_MAX_PARTITION_FETCH_BYTES,
      'max-partition-fetch-bytes',
      'MILLRACE_MAX_PARTITION_FETCH_BYTES',
    ),
  };
}

const LEVELS: LogLevel[] = ['error', 'warn', 'info', 'debug'];

export function sinkSettings(f: Parsed['flags'], env: Env): SinkSettings {
  return {
    sink: {
      brokers: String(f.brokers ?? env.MILLRACE_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092').split(','),
      registryUrl: String(
        f.registry ?? env.MILLRACE_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
      ),
      warehouse: oneOf<WarehouseKind>(f.warehouse, 'warehouse', ['duckdb', 'snowflake']),
      duckdbPath: (f.duckdb as string | undefined) ?? env.MILLRACE_DUCKDB_PATH,
      duckdb: duckdbTuning(env),
      sinkId: String(f['sink-id'] ?? env.MILLRACE_SINK_ID ?? 'finnhub-vwap-sink'),
      dedupeKey: oneOf(f['dedupe-key'], 'dedupe-key', ['symbol+timestamp', 'content'] as const),
      sessionTimeoutMs: sessionTimeoutOf(f['session-timeout'] ?? env.MILLRACE_SINK_SESSION_TIMEOUT),
      ...fetchSizes(f, env),
      env,
    },
    logLevel:
      oneOf<LogLevel>(f['log-level'] ?? env.MILLRACE_LOG_LEVEL, 'log-level', LEVELS) ?? 'info',
    metricsPort: Number(f['metrics-port'] ?? env.MILLRACE_SINK_METRICS_PORT ?? 9465),
    metricsHost: (f['metrics-host'] as string | undefined) ?? '127.0.0.1',
    killAfterCommits: Number(env.MILLRACE_FAULT_SINK_KILL_AFTER_COMMITS ?? 0),
  };
}
