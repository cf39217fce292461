/** Maps DuckDB's errors to SinkErrors with a fix in the message. */
import { SinkError } from '../warehouse/errors.js';

/**
 * @param doing what the sink was doing, for the message ("write the batch …")
 */
export function classifyDuckDbError(err: unknown, doing: string): SinkError {
  if (err instanceof SinkError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const make = (
    code: SinkError['code'],
    domain: SinkError['domain'],
    fix: string,
    retriable = false,
  ) =>
    new SinkError(`duckdb sink: could not ${doing}: ${msg}${fix ? `; ${fix}` : ''}`, {
      code,
      domain,
      retriable,
      sink: 'duckdb',
      cause: err,
    });
  if (/Could not set lock|Conflicting lock/i.test(msg))
    return make(
      'SINK_UNAVAILABLE',
      'user',
      'another process has the file open (DuckDB allows one writer): stop it or use another path',
    );
  if (/^Constraint Error/i.test(msg))
    return make(
      'SINK_CONSTRAINT',
      'user',
      'a row violates a table constraint; fix the row mapper or the upstream data',
    );
  if (/^(Conversion|Invalid Input) Error/i.test(msg))
    return make('SINK_ROW_INVALID', 'user', 'a value does not fit its column');
  if (/^(IO|Permission) Error/i.test(msg))
    return make('SINK_UNAVAILABLE', 'external', 'check the path, free disk space and permissions');
  if (/^Catalog Error/i.test(msg))
    return make(
      'SINK_SCHEMA_MISMATCH',
      'user',
      'run ensureSchema() first, or check the table was not changed by hand',
    );
  return make('SINK_WRITE_FAILED', 'internal', '');
}
