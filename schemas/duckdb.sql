-- Tables of the embedded DuckDB sink (connectors/duckdb), run by ensureSchema() on start.
-- Idempotent: CREATE TABLE IF NOT EXISTS. Timestamps are UTC, without time zone.
-- ${trades_primary_key} is the dedupe key's columns: "symbol, trade_timestamp" by default,
-- "symbol, trade_timestamp, price, volume, trade_conditions" with the content key.
-- Keep columns in step with connectors/warehouse/tables.ts and schemas/snowflake.sql.

-- The original pipeline's trades table (snowflake-setup.sql), one row per distinct trade.
CREATE TABLE IF NOT EXISTS trades (
  uuid VARCHAR NOT NULL,
  trade_conditions VARCHAR,
  price DOUBLE NOT NULL,
  symbol VARCHAR NOT NULL,
  trade_timestamp TIMESTAMP NOT NULL,
  ingest_timestamp TIMESTAMP NOT NULL,
  volume DOUBLE NOT NULL,
  type VARCHAR,
  PRIMARY KEY (${trades_primary_key})
);

-- One closed 1-minute tumbling window per symbol; vwap is NULL when the volume is 0.
CREATE TABLE IF NOT EXISTS vwap_1m (
  symbol VARCHAR NOT NULL,
  window_start TIMESTAMP NOT NULL,
  window_end TIMESTAMP NOT NULL,
  vwap DOUBLE,
  volume DOUBLE NOT NULL,
  trade_count BIGINT NOT NULL,
  open DOUBLE,
  high DOUBLE,
  low DOUBLE,
  close DOUBLE,
  PRIMARY KEY (symbol, window_start)
);

-- Next Kafka offset to read per sink and source partition, committed with the rows.
CREATE TABLE IF NOT EXISTS millrace_offsets (
  sink_id VARCHAR NOT NULL,
  topic VARCHAR NOT NULL,
  partition BIGINT NOT NULL,
  next_offset BIGINT NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (sink_id, topic, partition)
);
