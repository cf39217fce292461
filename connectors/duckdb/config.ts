/** Settings of the DuckDB sink, validated with zod. */
import { z } from 'zod';
import { dedupeKeySchema, parseConfig } from '../warehouse/config.js';
import type { DedupeKey } from '../warehouse/tables.js';

/** What a user may set; every field has a default. */
export interface DuckDbSinkConfigInput {
  /**
   * The database file (created with its folder if absent), or `:memory:`. Default
   * `data/millrace.duckdb`, relative to the working directory. One process may write it at
   * a time; the DuckDB CLI can open it once the sink is closed.
   */
  path?: string;
  /** Primary key of `trades`; default `symbol+timestamp`. */
  dedupeKey?: DedupeKey;
}

export type DuckDbSinkConfig = Required<DuckDbSinkConfigInput>;

const schema = z.strictObject({
  path: z.string().min(1).default('data/millrace.duckdb'),
  dedupeKey: dedupeKeySchema.default('symbol+timestamp'),
});

const FIXES = {
  path: 'set it to a file path such as data/millrace.duckdb, or :memory:',
  dedupeKey: 'use "symbol+timestamp" or "content"',
};

/** Validates and fills in defaults. @throws SinkError `SINK_CONFIG_INVALID` */
export function duckDbSinkConfig(input: DuckDbSinkConfigInput = {}): DuckDbSinkConfig {
  return parseConfig(schema, input, 'duckdb', (p) => `duckdb.${p}`, FIXES);
}
