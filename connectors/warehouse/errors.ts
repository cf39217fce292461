/**
 * Errors of the warehouse sinks. Each carries a `code`, a `domain` (whose fault: `user`
 * config or data, an `external` warehouse, or `internal` — ours) and whether retrying the
 * same call can help. Messages say what to do and never contain a credential.
 */

export type SinkErrorDomain = 'user' | 'external' | 'internal';

/**
 * Codes a {@link SinkError} can carry:
 * - `SINK_CONFIG_INVALID` — a setting is missing or wrong; the message names it and the fix.
 * - `SINK_AUTH` — the warehouse refused the credentials (never retried).
 * - `SINK_PERMISSION` — the user or role may not do this (never retried).
 * - `SINK_UNAVAILABLE` — network, 5xx, 429, lock contention: retrying can help.
 * - `SINK_ROW_INVALID` — a row does not fit its table (wrong type, unknown column).
 * - `SINK_CONSTRAINT` — the warehouse rejected a row (NOT NULL …); the batch was rolled back.
 * - `SINK_SCHEMA_MISMATCH` — an existing table differs from the DDL in `schemas/`.
 * - `SINK_UNKNOWN_TABLE` — `writeBatch` named a table the sink does not manage.
 * - `SINK_NOT_OPEN` — a call before `open()` or after `close()`.
 * - `SINK_WRITE_FAILED` — any other warehouse error; the batch was rolled back.
 */
export type SinkErrorCode =
  | 'SINK_CONFIG_INVALID'
  | 'SINK_AUTH'
  | 'SINK_PERMISSION'
  | 'SINK_UNAVAILABLE'
  | 'SINK_ROW_INVALID'
  | 'SINK_CONSTRAINT'
  | 'SINK_SCHEMA_MISMATCH'
  | 'SINK_UNKNOWN_TABLE'
  | 'SINK_NOT_OPEN'
  | 'SINK_WRITE_FAILED';

/** A failure of a warehouse sink; `cause` holds the driver's error when there is one. */
export class SinkError extends Error {
  readonly code: SinkErrorCode;
  readonly domain: SinkErrorDomain;
  readonly retriable: boolean;
  /** `duckdb` or `snowflake`. */
  readonly sink: string;

  constructor(
    message: string,
    opts: {
      code: SinkErrorCode;
      domain: SinkErrorDomain;
      sink: string;
      retriable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SinkError';
    this.code = opts.code;
    this.domain = opts.domain;
    this.retriable = opts.retriable ?? false;
    this.sink = opts.sink;
  }
}

/**
 * Replaces every occurrence of each secret in `text` with `***`. Used on anything a driver
 * says before it reaches a message or a log, as a second line of defence: we never put a
 * secret there ourselves.
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}
