/**
 * Tables of the builder: `b.table(topic)` reads a topic as a table (the latest value per
 * key, in a changelogged key-value store; a null value deletes the key), and a stream
 * enriches its records from one with `join()` / `leftJoin()`.
 */
import type { TopologyBuilder } from './builder.js';
import type { Serdes } from './serdes.js';
import type { KStream } from './stream.js';

/** Options of `TopologyBuilder.table()`. */
export interface TableOptions {
  /** Node name of the table (default `table-<n>`; its source is `<name>-source`). */
  name?: string;
  /** Store name (default `<name>-store`). */
  store?: string;
  /** Keep a changelog topic `<app>-<store>-changelog` (default true). */
  logged?: boolean;
  /** Put a write cache in front of the store (default true). */
  cache?: boolean;
}

/**
 * A table: the latest value per key of a topic, held in `storeName`. Join a stream with it
 * (`stream.join(table, joiner)`), or follow its changes with `toStream()`.
 */
export class KTable<K = unknown, V = unknown> {
  /** Never set: makes `K` and `V` checked both ways. */
  declare private readonly types?: (key: K, value: V) => [K, V];

  constructor(
    protected readonly b: TopologyBuilder,
    /** The stream of the table's changes (each new value; `null` for a deleted key). */
    private readonly changes: KStream<K, V | null>,
    /** The key-value store holding the table. */
    readonly storeName: string,
    readonly serdes: Serdes,
  ) {}

  /** Each change of the table as a record: the new value, or `null` when a key was deleted. */
  toStream(): KStream<K, V | null> {
    return this.changes;
  }
}
