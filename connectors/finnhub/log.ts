/**
 * Structured logs for the ingest path: one JSON object a line (stderr by default), quiet
 * (warn and above) unless asked. `redactingLogger` masks secrets in every message and
 * field before they reach any sink.
 */
import { redact } from './redact.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
type Fields = Record<string, unknown>;

/** What the ingest code logs through; bind it to any structured logger. */
export interface IngestLogger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Logs nothing (the default for library use and tests). */
export const silentLogger: IngestLogger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};

/**
 * A JSON-lines logger: `{"time","level","msg",...base,...fields}`.
 *
 * @param level lowest level written; default `warn`
 * @param write where each line goes; default stderr
 * @example jsonLogger({ level: 'info', base: { component: 'ingest' } }).warn('kafka slow', { waitedMs: 1200 })
 */
export function jsonLogger(
  opts: { level?: LogLevel; base?: Fields; write?: (line: string) => void } = {},
): IngestLogger {
  const max = RANK[opts.level ?? 'warn'];
  const write = opts.write ?? ((l: string) => void process.stderr.write(l + '\n'));
  const emit = (level: LogLevel) => (msg: string, fields?: Fields) => {
    if (RANK[level] > max) return;
    const line = { time: new Date().toISOString(), level, msg, ...opts.base, ...fields };
    write(JSON.stringify(line, errorFields));
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
}

/** `log` with every secret (and any `token=` value) masked in messages and fields. */
export function redactingLogger(
  log: IngestLogger,
  secrets: readonly (string | undefined)[],
): IngestLogger {
  const clean = (fields?: Fields): Fields | undefined =>
    fields && (JSON.parse(redact(JSON.stringify(fields, errorFields), secrets)) as Fields);
  const wrap = (fn: IngestLogger['warn']) => (msg: string, fields?: Fields) =>
    fn(redact(msg, secrets), clean(fields));
  return {
    error: wrap(log.error),
    warn: wrap(log.warn),
    info: wrap(log.info),
    debug: wrap(log.debug),
  };
}

function errorFields(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
