/**
 * Tables of the builder. `b.table(topic)` reads a topic as a table (the latest value per
 * key, in a changelogged key-value store; a null value deletes the key); a table can be
 * filtered, have its values mapped, be joined with another table (inner, left, outer) —
 * each giving a table again — and enrich a stream (`stream.join(table, joiner)`).
 * `b.globalTable(topic)` reads a topic in full on every instance (see `GlobalKTable`).
 *
 * A derived table (filtered, mapped, joined) has no store of its own: joins read it
 * through the stores it comes from, applying what was done to them.
 */
import type { TopologyBuilder } from './builder.js';
import { TopologyError } from './errors.js';
import type { Serdes } from './serdes.js';
import { DEFAULT_SERDES } from './serdes.js';
import { addJoinMerge } from './stream-joins.js';
import type { KStream } from './stream.js';
import { addSuppress, type SuppressOptions, type TimeLimitSuppression } from './suppress.js';

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

/** Reads `key` of the store named `store` (what a join node's lookup is given). */
export type StoreRead = (store: string, key: unknown) => unknown;

/** Where a table's values come from: the stores it reads, and how (absent: the first store's value). */
export interface TableSource {
  stores: readonly string[];
  lookup?: (read: StoreRead, key: unknown) => unknown;
}

const absent = (x: unknown): x is null | undefined => x === null || x === undefined;

/** Whether a key is in a table join's result, given whether each table holds it. */
const IN_RESULT = {
  inner: (l: boolean, r: boolean) => l && r,
  left: (l: boolean) => l,
  outer: (l: boolean, r: boolean) => l || r,
} as const;

type JoinKind = keyof typeof IN_RESULT;

/**
 * A table: the latest value per key. Join a stream with it (`stream.join(table, joiner)`),
 * join it with another table, or follow its changes with `toStream()`.
 */
export class KTable<K = unknown, V = unknown> {
  /** Never set: makes `K` and `V` checked both ways. */
  declare private readonly types?: (key: K, value: V) => [K, V];

  constructor(
    protected readonly b: TopologyBuilder,
    /** The stream of the table's changes (each new value; `null` for a deleted key). */
    private readonly changes: KStream<K, V | null>,
    private readonly source: TableSource,
    readonly serdes: Serdes,
  ) {}

  /** The key-value store the table's values come from (the first, for a table joined from two). */
  get storeName(): string {
    return this.source.stores[0]!;
  }

  /** The stores a lookup of this table reads. */
  get stores(): readonly string[] {
    return this.source.stores;
  }

  /** How a join reads this table: its value for a key, through what was done to its store. */
  lookup(): (read: StoreRead, key: unknown) => unknown {
    const { lookup, stores } = this.source;
    return lookup ?? ((read, key) => read(stores[0]!, key));
  }

  /** Each change of the table as a record: the new value, or `null` when a key was deleted. */
  toStream(): KStream<K, V | null> {
    return this.changes;
  }

  private derived<V2>(
    changes: KStream<K, V2 | null>,
    map: (value: unknown, key: unknown) => unknown,
  ): KTable<K, V2> {
    const inner = this.lookup();
    const lookup = (read: StoreRead, key: unknown) => {
      const v = inner(read, key);
      return absent(v) ? v : map(v, key);
    };
    return new KTable<K, V2>(this.b, changes, { stores: this.stores, lookup }, this.serdes);
  }

  /**
   * The rows for which `predicate(value, key)` holds. As in Kafka Streams, an update that
   * fails the predicate is a delete (a `null` change), also for a key the filtered table
   * did not hold.
   */
  filter(predicate: (value: V, key: K) => boolean, name?: string): KTable<K, V> {
    const keep = (v: V | null, key: K): V | null => (v !== null && predicate(v, key) ? v : null);
    const changes = this.changes.mapValues(
      (v, r) => keep(v, r.key),
      this.b.nameFor('table-filter', name),
    );
    return this.derived<V>(changes, (v, k) => keep(v as V, k as K));
  }

  /** Each row's value replaced by `fn(value, key)`; deletes stay deletes. */
  mapValues<V2>(fn: (value: V, key: K) => V2, name?: string): KTable<K, V2> {
    const map = (v: V | null, key: K): V2 | null => (v === null ? null : fn(v, key));
    const changes = this.changes.mapValues(
      (v, r) => map(v, r.key),
      this.b.nameFor('table-mapValues', name),
    );
    return this.derived<V2>(changes, (v, k) => map(v as V, k as K));
  }

  /**
   * Inner table-table join: a row for each key both tables hold, `joiner(value,
   * otherValue, key)`, updated when either side changes (a `null` change when a key leaves
   * the result). Both tables' topics must be co-partitioned (checked at start-up).
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    name?: string,
  ): KTable<K, VR> {
    return this.joinTable('inner', other, joiner, name);
  }

  /** As `join()`, with a row for every key of this table (`otherValue` null when the other lacks it). */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    name?: string,
  ): KTable<K, VR> {
    return this.joinTable('left', other, joiner, name);
  }

  /** As `join()`, with a row for every key of either table (the side that lacks it null). */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    name?: string,
  ): KTable<K, VR> {
    return this.joinTable('outer', other, joiner, name);
  }

  private joinTable<VO, VR>(
    kind: JoinKind,
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    name?: string,
  ): KTable<K, VR> {
    const n = this.b.nameFor('table-join', name);
    if (this.serdes.key !== other.serdes.key)
      this.b.addProblem(keySerdesDiffer(n, this.serdes, other.serdes));
    this.joinSide(n, 'left', kind, other, joiner);
    other.joinSide(n, 'right', kind, this, joiner);
    addJoinMerge(this.b, n);
    const [l, r] = [this.lookup(), other.lookup()];
    const lookup = (read: StoreRead, key: unknown) => {
      const [lv, rv] = [l(read, key), r(read, key)];
      if (!IN_RESULT[kind](!absent(lv), !absent(rv))) return undefined;
      return (joiner as (a: unknown, b: unknown, k: unknown) => VR)(lv ?? null, rv ?? null, key);
    };
    const changes = this.b.streamOf<K, VR | null>(n, {
      key: this.serdes.key,
      value: DEFAULT_SERDES.value,
    });
    const stores = [...new Set([...this.stores, ...other.stores])];
    return new KTable<K, VR>(this.b, changes, { stores, lookup }, changes.serdes);
  }

  /** Appends this table's side of a table-table join: its changes, looking `other` up. */
  protected joinSide<VO>(
    join: string,
    side: 'left' | 'right',
    kind: JoinKind,
    other: KTable<K, VO>,
    joiner: unknown,
  ): void {
    const [first, ...rest] = other.stores;
    this.b.addNode(
      {
        kind: 'processor',
        name: `${join}-${side}`,
        type: 'table-table-join',
        parents: [this.changes.ref],
        options: { side, kind, otherStore: first!, ...(rest.length ? { reads: rest } : {}) },
        stores: [...other.stores],
        inline: true,
      },
      { joiner, lookup: other.lookup() },
    );
  }

  /** Forwards each key's newest value at most once per time limit (see `untilTimeLimit`). */
  suppress(s: TimeLimitSuppression, opts: SuppressOptions = {}): KStream<K, V | null> {
    return addSuppress(this.b, this.changes, s, undefined, opts);
  }
}

function keySerdesDiffer(node: string, a: Serdes, b: Serdes) {
  return new TopologyError(
    'JOIN_NOT_COPARTITIONED',
    `join "${node}": the tables' keys have different serdes (${a.key}, ${b.key}), so equal keys could land in different partitions; read both with the same key serde`,
    node,
  );
}

/**
 * A global table: every instance holds all of it, read from its topic's partitions (no
 * consumer group; restored from the topic itself, no changelog) and kept up to date while
 * it runs. Streams join it on a key computed from each record, whatever their keys and
 * partitions: `stream.join(globalTable, (key, value) => tableKey, joiner)`.
 */
export class GlobalKTable<K = unknown, V = unknown> {
  /** Never set: makes `K` and `V` checked both ways. */
  declare private readonly types?: (key: K, value: V) => [K, V];

  constructor(
    /** The global store holding the table. */
    readonly storeName: string,
    readonly serdes: Serdes,
  ) {}
}
