/**
 * Turns the plain row objects handed to `writeBatch` into checked value arrays in DDL
 * column order, one per primary key — shared by both sinks so they accept and reject
 * exactly the same rows.
 */
import { SinkError } from './errors.js';
import type { ColumnSpec, TableSpec } from './tables.js';

/** A checked cell: text, a finite number (timestamps as integer epoch ms), or null. */
export type Cell = string | number | null;

/**
 * Checks and orders the rows of one table, and keeps only the last row per primary key
 * (a warehouse cannot upsert one key twice in one statement, and the later record is
 * the newer one).
 *
 * A null in a nullable string column that is part of the primary key is stored as `''`
 * (primary-key columns cannot hold NULL); the content dedupe key treats a trade without
 * conditions the same way.
 *
 * @throws SinkError `SINK_ROW_INVALID` naming the table, row index and column.
 */
export function prepareRows(
  table: TableSpec,
  rows: ReadonlyArray<Record<string, unknown>>,
  sink: string,
): Cell[][] {
  const known = new Set(table.columns.map((c) => c.name));
  const columns = table.columns;
  const inKey = columns.map((c) => table.primaryKey.includes(c.name));
  const keyIdx = table.primaryKey.map((k) => columns.findIndex((c) => c.name === k));
  const byKey = new Map<string, Cell[]>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    // Own properties only: a decoded Avro record's class has enumerable methods.
    for (const name of Object.keys(row)) {
      if (!known.has(name))
        throw invalid(
          sink,
          table,
          i,
          name,
          `is not a column of ${table.name} (columns: ${[...known].join(', ')})`,
        );
    }
    const cells: Cell[] = new Array(columns.length);
    for (let j = 0; j < columns.length; j++) {
      const c = columns[j]!;
      const cell = cellOf(c, row[c.name], inKey[j]!);
      if (cell === undefined) throw invalid(sink, table, i, c.name, describe(c, row[c.name]));
      cells[j] = cell;
    }
    byKey.set(keyOf(cells, keyIdx), cells);
  }
  return [...byKey.values()];
}

/** A string equal for two rows exactly when their key cells are (type, value) equal. */
function keyOf(cells: readonly Cell[], keyIdx: readonly number[]): string {
  let k = '';
  for (const i of keyIdx) {
    const c = cells[i]!;
    // Type-tagged and length-prefixed, so no value can run into the next.
    if (c === null) k += 'z;';
    else if (typeof c === 'number') k += `n${c};`;
    else k += `s${c.length}:${c};`;
  }
  return k;
}

/** The checked cell, or undefined when the value does not fit the column. */
function cellOf(col: ColumnSpec, value: unknown, inKey: boolean): Cell | undefined {
  if (value === undefined || value === null)
    return inKey && col.nullable && col.type === 'string' ? '' : null;
  switch (col.type) {
    case 'string':
      return typeof value === 'string' ? value : undefined;
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'bigint':
    case 'timestamp':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
      return typeof value === 'bigint' && value >= MIN_SAFE && value <= MAX_SAFE
        ? Number(value)
        : undefined;
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function describe(col: ColumnSpec, value: unknown): string {
  const got = typeof value === 'number' ? String(value) : typeof value;
  const want = {
    string: 'a string',
    double: 'a finite number',
    bigint: 'a safe integer',
    timestamp: 'an integer epoch-millisecond timestamp',
  }[col.type];
  return `must be ${want}${col.nullable ? ' or null' : ''}, got ${got}`;
}

function invalid(
  sink: string,
  table: TableSpec,
  row: number,
  column: string,
  what: string,
): SinkError {
  return new SinkError(
    `${sink} sink: ${table.name} row ${row}: column ${column} ${what}; fix the row mapper that produced it`,
    {
      code: 'SINK_ROW_INVALID',
      domain: 'user',
      sink,
    },
  );
}
