/**
 * Bulk loading through a temporary staging table: the DuckDB appender fills it (far
 * faster than bound INSERTs), then one INSERT … ON CONFLICT DO UPDATE moves it into the
 * target. Both happen inside the caller's transaction, so a rollback empties the staging
 * table too.
 */
import { DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { Cell } from '../warehouse/rows.js';
import type { ColumnType, TableSpec } from '../warehouse/tables.js';

/** Name of a table's staging table in the connection's `temp` catalog. */
export function stagingTable(table: TableSpec): string {
  return `millrace_stage_${table.name}`;
}

/** Creates (or empties) the staging table, shaped like the target without its constraints. */
export async function createStaging(conn: DuckDBConnection, table: TableSpec): Promise<void> {
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${stagingTable(table)} AS SELECT * FROM main.${table.name} LIMIT 0`,
  );
}

/** Upserts `rows` (DDL column order, one per key) into the target; call inside a transaction. */
export async function upsertViaStaging(
  conn: DuckDBConnection,
  table: TableSpec,
  rows: Cell[][],
): Promise<void> {
  if (!rows.length) return;
  await conn.run(`DELETE FROM temp.main.${stagingTable(table)}`);
  const appender = await conn.createAppender(stagingTable(table), 'main', 'temp');
  try {
    const types = table.columns.map((c) => c.type);
    for (const row of rows) appendRow(appender, types, row);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  await conn.run(upsertSql(table));
}

function appendRow(appender: DuckDBAppender, types: ColumnType[], row: Cell[]): void {
  for (let i = 0; i < types.length; i++) {
    const v = row[i];
    if (v === null || v === undefined) appender.appendNull();
    else if (types[i] === 'string') appender.appendVarchar(v as string);
    else if (types[i] === 'double') appender.appendDouble(v as number);
    else if (types[i] === 'bigint') appender.appendBigInt(BigInt(v));
    else appender.appendTimestamp(new DuckDBTimestampValue(BigInt(v) * 1000n));
  }
  appender.endRow();
}

/**
 * INSERT … SELECT from staging, updating every non-key column of an existing key whose
 * row differs. A replay (the sink restarting from the warehouse's offsets, a backfill
 * over rows already loaded) brings the same rows again: DuckDB updating a row costs far
 * more than finding it unchanged (`npm run bench:sink`, replay case: 28.3 k rows/s and
 * 14.2 CPU-s updating every row, 57.4–59.9 k and 6.7–7.0 with this condition), and the table ends
 * the same either way.
 */
export function upsertSql(table: TableSpec): string {
  const key = table.primaryKey.join(', ');
  const others = table.columns.filter((c) => !table.primaryKey.includes(c.name));
  const set = others.map((c) => `${c.name} = EXCLUDED.${c.name}`).join(', ');
  const differs = others
    .map((c) => `main.${table.name}.${c.name} IS DISTINCT FROM EXCLUDED.${c.name}`)
    .join(' OR ');
  const action = others.length ? `DO UPDATE SET ${set} WHERE ${differs}` : 'DO NOTHING';
  return `INSERT INTO main.${table.name} SELECT * FROM temp.main.${stagingTable(table)} ON CONFLICT (${key}) ${action}`;
}
