/**
 * Checks an existing table against its description (tables.ts), so a table left by an
 * older version or another dedupe key fails at start-up with a fix, not at the first write.
 */
import { SinkError } from './errors.js';
import type { ColumnDescription } from './sink.js';
import type { TableSpec } from './tables.js';

/**
 * @param found the table's columns as the warehouse reports them
 * @param foundKey the table's primary-key columns as the warehouse reports them
 * @throws SinkError `SINK_SCHEMA_MISMATCH`
 */
export function verifyTable(
  spec: TableSpec,
  found: ColumnDescription[],
  foundKey: readonly string[],
  sink: string,
  where: string,
): void {
  const want = spec.columns.map((c) => c.name).join(', ');
  const got = found.map((c) => c.name).join(', ');
  if (want !== got) {
    throw mismatch(
      sink,
      `${where}.${spec.name} has columns (${got}) but millrace writes (${want})`,
    );
  }
  const wantKey = [...spec.primaryKey].sort().join(', ');
  const gotKey = foundKey
    .map((k) => k.toLowerCase())
    .sort()
    .join(', ');
  if (wantKey !== gotKey) {
    throw mismatch(
      sink,
      `${where}.${spec.name} has primary key (${gotKey || 'none'}) but the configured dedupe key needs (${wantKey})`,
    );
  }
}

function mismatch(sink: string, what: string): SinkError {
  return new SinkError(
    `${sink} sink: ${what}; migrate the table (or rename it and let the sink create a new one) and restart, or configure the dedupe key it was created with`,
    {
      code: 'SINK_SCHEMA_MISMATCH',
      domain: 'user',
      sink,
    },
  );
}
