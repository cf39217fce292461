/** The embedded DuckDB warehouse sink (the default when no Snowflake account is configured). */
export { DuckDbSink } from './duckdb-sink.js';
export { duckDbSinkConfig, type DuckDbSinkConfig, type DuckDbSinkConfigInput } from './config.js';
