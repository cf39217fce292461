-- Tables of the Snowflake sink (connectors/snowflake), run by ensureSchema() on start and
-- usable as a Terraform templatefile. Idempotent: CREATE TABLE IF NOT EXISTS.
-- Placeholders: ${database} (default MARKETS) and ${schema} (default PUBLIC), and
-- ${trades_primary_key}: "symbol, trade_timestamp" by default,
-- "symbol, trade_timestamp, price, volume, trade_conditions" with the content dedupe key.
-- Snowflake does not enforce PRIMARY KEY: the sink's MERGE on these columns keeps them
-- unique. NOT NULL is enforced. Timestamps are UTC in TIMESTAMP_NTZ.
-- Keep columns in step with connectors/warehouse/tables.ts and schemas/duckdb.sql.

-- The original pipeline's table (snowflake-setup.sql: database markets, table trades with
-- uuid, trade_conditions, price, symbol, trade_timestamp, ingest_timestamp, volume, type).
CREATE TABLE IF NOT EXISTS ${database}.${schema}.trades (
  uuid STRING NOT NULL,
  trade_conditions STRING,
  price DOUBLE NOT NULL,
  symbol STRING NOT NULL,
  trade_timestamp TIMESTAMP_NTZ NOT NULL,
  ingest_timestamp TIMESTAMP_NTZ NOT NULL,
  volume DOUBLE NOT NULL,
  type STRING,
  PRIMARY KEY (${trades_primary_key})
);

-- One closed 1-minute tumbling window per symbol; vwap is NULL when the volume is 0.
CREATE TABLE IF NOT EXISTS ${database}.${schema}.vwap_1m (
  symbol STRING NOT NULL,
  window_start TIMESTAMP_NTZ NOT NULL,
  window_end TIMESTAMP_NTZ NOT NULL,
  vwap DOUBLE,
  volume DOUBLE NOT NULL,
  trade_count NUMBER(38,0) NOT NULL,
  open DOUBLE,
  high DOUBLE,
  low DOUBLE,
  close DOUBLE,
  PRIMARY KEY (symbol, window_start)
);

-- Next Kafka offset to read per sink and source partition, committed with the rows.
CREATE TABLE IF NOT EXISTS ${database}.${schema}.millrace_offsets (
  sink_id STRING NOT NULL,
  topic STRING NOT NULL,
  partition NUMBER(10,0) NOT NULL,
  next_offset NUMBER(38,0) NOT NULL,
  updated_at TIMESTAMP_NTZ NOT NULL,
  PRIMARY KEY (sink_id, topic, partition)
);
