/** The Snowflake warehouse sink (snowflake-sdk), configured from `SNOWFLAKE_*` variables. */
export { SnowflakeSink, type SnowflakeSinkInit } from './snowflake-sink.js';
export {
  snowflakeSinkConfig,
  type SnowflakeSinkConfig,
  type SnowflakeSinkOptions,
  type SnowflakeAuth,
  type UpsertStrategy,
} from './config.js';
