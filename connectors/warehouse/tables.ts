/**
 * The tables every warehouse sink manages — `trades`, `vwap_1m` and `millrace_offsets` —
 * described once, engine-neutrally: column names in DDL order, logical types, nullability
 * and primary key. The DDL itself lives in `schemas/*.sql`; `ensureSchema()` checks that
 * the tables it finds match these descriptions.
 */

/**
 * Logical column types. Values arrive as plain JS: `string`; `double` and `bigint` as
 * numbers (`bigint` may also be a JS bigint); `timestamp` as epoch milliseconds (an
 * integer), stored in a TIMESTAMP column without time zone, in UTC.
 */
export type ColumnType = 'string' | 'double' | 'bigint' | 'timestamp';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export interface TableSpec {
  name: string;
  /** In the order of the DDL. */
  columns: readonly ColumnSpec[];
  /** Primary-key column names; writes are upserts on this key. */
  primaryKey: readonly string[];
}

/**
 * Which trades are "the same trade" — the dedupe processor's key and so the `trades`
 * primary key (docs/pipeline.md, "The dedupe key"): `symbol+timestamp` (the original pipeline's key; drops
 * distinct trades of one symbol in the same millisecond) or `content` (symbol, timestamp,
 * price, volume and conditions).
 */
export type DedupeKey = 'symbol+timestamp' | 'content';

/** Primary-key columns of `trades` for each dedupe key (same as processors/market/trade.ts). */
export const TRADES_KEY_COLUMNS: Readonly<Record<DedupeKey, readonly string[]>> = {
  'symbol+timestamp': ['symbol', 'trade_timestamp'],
  content: ['symbol', 'trade_timestamp', 'price', 'volume', 'trade_conditions'],
};

const col = (name: string, type: ColumnType, nullable = false): ColumnSpec => ({
  name,
  type,
  nullable,
});

/** The original pipeline's `trades` columns; the primary key comes from the dedupe key. */
export function tradesTable(dedupeKey: DedupeKey): TableSpec {
  return {
    name: 'trades',
    columns: [
      col('uuid', 'string'),
      col('trade_conditions', 'string', true),
      col('price', 'double'),
      col('symbol', 'string'),
      col('trade_timestamp', 'timestamp'),
      col('ingest_timestamp', 'timestamp'),
      col('volume', 'double'),
      col('type', 'string', true),
    ],
    primaryKey: TRADES_KEY_COLUMNS[dedupeKey],
  };
}

/** One closed 1-minute VWAP window per symbol. `vwap` is null when the volume sum is 0. */
export const VWAP_1M_TABLE: TableSpec = {
  name: 'vwap_1m',
  columns: [
    col('symbol', 'string'),
    col('window_start', 'timestamp'),
    col('window_end', 'timestamp'),
    col('vwap', 'double', true),
    col('volume', 'double'),
    col('trade_count', 'bigint'),
    col('open', 'double', true),
    col('high', 'double', true),
    col('low', 'double', true),
    col('close', 'double', true),
  ],
  primaryKey: ['symbol', 'window_start'],
};

/** Next offset to read per source partition, written in the same transaction as the rows. */
export const OFFSETS_TABLE: TableSpec = {
  name: 'millrace_offsets',
  columns: [
    col('sink_id', 'string'),
    col('topic', 'string'),
    col('partition', 'bigint'),
    col('next_offset', 'bigint'),
    col('updated_at', 'timestamp'),
  ],
  primaryKey: ['sink_id', 'topic', 'partition'],
};

/** Every table a sink manages, by name, for the given dedupe key. */
export function warehouseTables(dedupeKey: DedupeKey): ReadonlyMap<string, TableSpec> {
  return new Map([tradesTable(dedupeKey), VWAP_1M_TABLE, OFFSETS_TABLE].map((t) => [t.name, t]));
}
