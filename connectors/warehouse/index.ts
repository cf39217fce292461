/**
 * The warehouse sink contract shared by connectors/duckdb and connectors/snowflake: the
 * interface, the tables, typed errors.
 */
export type { WarehouseSink, TableRows, ColumnDescription } from './sink.js';
export { SinkError, redact, type SinkErrorCode, type SinkErrorDomain } from './errors.js';
export {
  tradesTable,
  VWAP_1M_TABLE,
  OFFSETS_TABLE,
  TRADES_KEY_COLUMNS,
  warehouseTables,
  type DedupeKey,
  type TableSpec,
  type ColumnSpec,
  type ColumnType,
} from './tables.js';
export { offsetKey } from './offsets.js';
export { silentLogger, type SinkLogger } from './logger.js';
