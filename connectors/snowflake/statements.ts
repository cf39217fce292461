/**
 * The SQL the Snowflake sink runs to upsert rows. Data is only ever bound (`?`
 * placeholders, every value sent as text or NULL), never written into the SQL: the text
 * holds only our table and column names and the configured database and schema (checked
 * to be plain identifiers). Each statement reads a bound multi-row VALUES list whose
 * columns are cast to the target types; timestamps travel as epoch milliseconds and become
 * TIMESTAMP_NTZ with TO_TIMESTAMP_NTZ(n, 3), so no session format or time zone applies.
 */
import type { Cell } from '../warehouse/rows.js';
import type { ColumnSpec, TableSpec } from '../warehouse/tables.js';
import type { UpsertStrategy } from './config.js';

/** One statement and its positional binds. */
export interface BoundStatement {
  sqlText: string;
  binds: Array<string | null>;
}

/** Per-statement size limits. */
export interface ChunkLimits {
  maxRows: number;
  maxBytes: number;
}

// Each bound value costs its text plus its JSON envelope ({"12":{"type":"TEXT","value":…}}).
const BIND_OVERHEAD_BYTES = 32;

/** Splits rows into chunks that respect both the row and the (estimated) byte limit. */
export function chunkRows(rows: Cell[][], limits: ChunkLimits): Cell[][][] {
  const chunks: Cell[][][] = [];
  let current: Cell[][] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = row.reduce<number>(
      (n, c) => n + BIND_OVERHEAD_BYTES + (c === null ? 0 : String(c).length),
      0,
    );
    if (current.length && (current.length >= limits.maxRows || bytes + size > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/** The statements that upsert `rows` into `qualified` (e.g. `MARKETS.PUBLIC.trades`). */
export function upsertStatements(
  strategy: UpsertStrategy,
  qualified: string,
  table: TableSpec,
  rows: Cell[][],
  limits: ChunkLimits,
): BoundStatement[] {
  return chunkRows(rows, limits).flatMap((chunk) =>
    strategy === 'merge'
      ? [mergeStatement(qualified, table, chunk)]
      : deleteInsertStatements(qualified, table, chunk),
  );
}

/** MERGE INTO target USING (bound VALUES) ON the primary key: update all other columns, or insert. */
export function mergeStatement(
  qualified: string,
  table: TableSpec,
  rows: Cell[][],
): BoundStatement {
  const cols = table.columns.map((c) => c.name);
  const rest = cols.filter((c) => !table.primaryKey.includes(c));
  const update = rest.length
    ? ` WHEN MATCHED THEN UPDATE SET ${rest.map((c) => `${c} = s.${c}`).join(', ')}`
    : '';
  const sqlText =
    `MERGE INTO ${qualified} AS t USING (${valuesSource(table.columns, rows.length)}) AS s ON ${keyMatch(table)}` +
    `${update} WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`;
  return { sqlText, binds: bindsOf(rows) };
}

/** DELETE the rows' keys, then INSERT the rows: the same result as MERGE within one transaction. */
export function deleteInsertStatements(
  qualified: string,
  table: TableSpec,
  rows: Cell[][],
): BoundStatement[] {
  const keyCols = table.primaryKey.map((k) => table.columns.find((c) => c.name === k)!);
  const keyIdx = table.primaryKey.map((k) => table.columns.findIndex((c) => c.name === k));
  const del = {
    sqlText: `DELETE FROM ${qualified} AS t USING (${valuesSource(keyCols, rows.length)}) AS s WHERE ${keyMatch(table)}`,
    binds: bindsOf(rows.map((r) => keyIdx.map((i) => r[i]!))),
  };
  const cols = table.columns.map((c) => c.name).join(', ');
  const ins = {
    sqlText: `INSERT INTO ${qualified} (${cols}) ${valuesSource(table.columns, rows.length)}`,
    binds: bindsOf(rows),
  };
  return [del, ins];
}

/** SELECT <casts of column1…N> FROM VALUES (?, …), … with one placeholder per cell. */
function valuesSource(cols: readonly ColumnSpec[], rowCount: number): string {
  const select = cols.map((c, i) => `${castOf(c, `column${i + 1}`)} AS ${c.name}`).join(', ');
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  return `SELECT ${select} FROM VALUES ${Array.from({ length: rowCount }, () => tuple).join(', ')}`;
}

function castOf(col: ColumnSpec, expr: string): string {
  switch (col.type) {
    case 'string':
      return `CAST(${expr} AS VARCHAR)`;
    case 'double':
      return `CAST(${expr} AS DOUBLE)`;
    case 'bigint':
      return `CAST(${expr} AS NUMBER(38,0))`;
    case 'timestamp':
      return `TO_TIMESTAMP_NTZ(CAST(${expr} AS NUMBER(38,0)), 3)`;
  }
}

function keyMatch(table: TableSpec): string {
  return table.primaryKey.map((k) => `t.${k} = s.${k}`).join(' AND ');
}

/** Row-major binds; numbers as their shortest round-trip text, which Snowflake parses back exactly. */
function bindsOf(rows: Cell[][]): Array<string | null> {
  return rows.flatMap((r) => r.map((c) => (c === null ? null : String(c))));
}
