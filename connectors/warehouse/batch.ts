/**
 * What both sinks do the same way before they touch their warehouse: find a managed table
 * by name, turn one `writeBatch` into prepared rows per table (the offsets' rows last), and
 * read the stored offsets back whatever case the warehouse gives column names in.
 */
import { SinkError } from './errors.js';
import { offsetKey, offsetRows } from './offsets.js';
import { prepareRows, type Cell } from './rows.js';
import type { TableRows } from './sink.js';
import { OFFSETS_TABLE, type TableSpec } from './tables.js';

/** One table's rows for one write, in the table's column order. */
export interface TableCells {
  table: TableSpec;
  cells: Cell[][];
}

/**
 * The managed table `name`.
 * @throws SinkError `SINK_UNKNOWN_TABLE` naming the tables there are.
 */
export function managedTable(
  tables: ReadonlyMap<string, TableSpec>,
  name: string,
  sink: string,
): TableSpec {
  const t = tables.get(name);
  if (!t)
    throw new SinkError(
      `${sink} sink: no table ${name}; tables are ${[...tables.keys()].join(', ')}`,
      { code: 'SINK_UNKNOWN_TABLE', domain: 'user', sink },
    );
  return t;
}

/**
 * Why `row` cannot be written to managed table `name` (the `SINK_ROW_INVALID` message:
 * table, column and value), or `undefined` when it can.
 */
export function rowProblem(
  tables: ReadonlyMap<string, TableSpec>,
  sink: string,
  name: string,
  row: Record<string, unknown>,
): string | undefined {
  try {
    prepareRows(managedTable(tables, name, sink), [row], sink);
    return undefined;
  } catch (err) {
    if (err instanceof SinkError && err.code === 'SINK_ROW_INVALID') return err.message;
    throw err;
  }
}

/**
 * Every table's rows of one write, checked and in column order, then the `millrace_offsets`
 * rows of `sinkId` for `offsets` (stamped `nowMs`): the order a write upserts them in.
 * @throws SinkError `SINK_UNKNOWN_TABLE`, `SINK_ROW_INVALID`
 */
export function batchCells(
  tables: ReadonlyMap<string, TableSpec>,
  sink: string,
  write: {
    sinkId: string;
    batches: ReadonlyArray<TableRows>;
    offsets: ReadonlyMap<string, number>;
  },
  nowMs = Date.now(),
): TableCells[] {
  const work = write.batches.map((b) => {
    const table = managedTable(tables, b.table, sink);
    return { table, cells: prepareRows(table, b.rows, sink) };
  });
  work.push({ table: OFFSETS_TABLE, cells: offsetRows(write.sinkId, write.offsets, nowMs, sink) });
  return work;
}

/**
 * The offsets map from `millrace_offsets` rows read back (`topic`, `partition`,
 * `next_offset`, in lower or upper case as the warehouse names them).
 */
export function offsetsFromRows(rows: Iterable<Record<string, unknown>>): Map<string, number> {
  const out = new Map<string, number>();
  const col = (r: Record<string, unknown>, name: string) => r[name] ?? r[name.toUpperCase()];
  for (const r of rows)
    out.set(
      offsetKey(String(col(r, 'topic')), Number(col(r, 'partition'))),
      Number(col(r, 'next_offset')),
    );
  return out;
}
