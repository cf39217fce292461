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
  /**
   * Threads DuckDB may use for the sink's writes. Default 1: each write is an upsert of a
   * few thousand rows, which a second thread makes costlier, not faster (on 2 cores: about
   * a third more CPU for the same rows, see docs/benchmarks.md); queries from other processes are not
   * affected.
   */
  threads?: number;
  /**
   * Write-ahead log size at which DuckDB checkpoints into the file (DuckDB's
   * `checkpoint_threshold`). Default `64MB` (DuckDB's own is 16MB): fewer checkpoints of a
   * growing table and its primary-key index; a restart replays at most this much log.
   */
  checkpointThreshold?: string;
}

export type DuckDbSinkConfig = Required<DuckDbSinkConfigInput>;

const schema = z.strictObject({
  path: z.string().min(1).default('data/millrace.duckdb'),
  dedupeKey: dedupeKeySchema.default('symbol+timestamp'),
  threads: z.number().int().min(1).max(256).default(1),
  checkpointThreshold: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'write a size such as 64MB')
    .default('64MB'),
});

const FIXES = {
  path: 'set it to a file path such as data/millrace.duckdb, or :memory:',
  dedupeKey: 'use "symbol+timestamp" or "content"',
  threads: 'use a whole number of threads, at least 1',
  checkpointThreshold: 'use a size such as 64MB',
};

/** Validates and fills in defaults. @throws SinkError `SINK_CONFIG_INVALID` */
export function duckDbSinkConfig(input: DuckDbSinkConfigInput = {}): DuckDbSinkConfig {
  return parseConfig(schema, input, 'duckdb', (p) => `duckdb.${p}`, FIXES);
}
