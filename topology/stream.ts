/**
 * `KStream`: a stream of records in the builder. Each step appends a node to the spec and
 * returns the stream of its output; functions given to steps stay in the builder's side
 * table (the node is marked `inline`).
 */
import type { TopologyBuilder } from './builder.js';
import { getDefaultCatalog, type ProcessorTypeDefinition } from './catalog.js';
import { KGroupedStream } from './grouped.js';
import {
  DEFAULT_SERDES,
  type GroupedSerdesCheck,
  type Serdes,
  type SerdesCheck,
} from './serdes.js';
import { parentRef, type Json, type StoreSpec } from './spec.js';
import {
  addSuppress,
  type SuppressOptions,
  type TimeLimitSuppression,
  type WindowCloseSuppression,
  type WindowClosing,
  type Windowed,
} from './suppress.js';
import {
  addGlobalJoin,
  addStreamJoin,
  addTableJoin,
  type StreamJoinOptions,
} from './stream-joins.js';
import { GlobalKTable, KTable } from './table.js';
import type { JoinWindows } from './windows.js';

/** A record as the builder's lambdas see it. `timestamp` is epoch ms. */
export interface Rec<K = unknown, V = unknown> {
  key: K;
  value: V;
  timestamp: number;
  headers?: Record<string, string | Buffer>;
}

/** Options of `KStream.process()`. */
export interface ProcessOptions {
  /** Node name (default `<type>-<n>`). */
  name?: string;
  /** The type's options (checked against its schema at `build()`). */
  options?: Json;
  /** Stores the node uses: names of declared stores, or store specs to declare here. */
  stores?: Array<string | StoreSpec>;
  /** The node changes keys: a later `groupByKey()` repartitions first. Default: the type's `changesKey`. */
  changesKey?: boolean;
  /** Serdes of its output, used as defaults by `to()` and `groupByKey()`. */
  serdes?: Serdes;
}

/** Serde names in the `{ keySerde, valueSerde }` form of `groupByKey()` and `groupBy()`. */
export interface GroupedSerdes {
  keySerde: string;
  valueSerde: string;
}

export interface StreamState {
  /** True after a key-changing step: a later stateful step repartitions first. */
  keyChanged: boolean;
  serdes: Serdes;
  /** The named output of `node` this stream is (default output when undefined). */
  output?: string;
}

/** What a step appends: its type, options, inline function(s), and what it does to keys and values. */
interface Step extends ProcessOptions {
  fn?: unknown;
  keyChange?: boolean;
  valueChange?: boolean;
}

export class KStream<K = unknown, V = unknown> {
  /** Never set: makes `K` and `V` checked both ways (a stream of numbers is not one of strings). */
  declare private readonly types?: (key: K, value: V) => [K, V];

  constructor(
    protected readonly b: TopologyBuilder,
    /** The node whose output this stream is. */
    readonly node: string,
    protected readonly state: StreamState,
  ) {}

  /** True after a key-changing step (a later `groupByKey()` repartitions first). */
  get keyChanged(): boolean {
    return this.state.keyChanged;
  }

  /** Serde names of this stream's records (defaults of `to()` and `groupByKey()`). */
  get serdes(): Serdes {
    return this.state.serdes;
  }

  /** How a child names this stream in its `parents`. */
  get ref(): string {
    return parentRef(this.node, this.state.output);
  }

  /** Appends a processor node under this stream; returns the stream of its output. */
  protected add<K2, V2>(type: string, o: Step): KStream<K2, V2> {
    const name = this.b.nameFor(type, o.name);
    const stores = (o.stores ?? []).map((s) => (typeof s === 'string' ? s : this.declare(s)));
    this.b.addNode(
      {
        kind: 'processor',
        name,
        type,
        parents: [this.ref],
        options: o.options ?? {},
        stores,
        ...(o.fn ? { inline: true } : {}),
      },
      o.fn,
    );
    const serdes = o.serdes ?? {
      key: o.keyChange ? DEFAULT_SERDES.key : this.serdes.key,
      value: o.valueChange ? DEFAULT_SERDES.value : this.serdes.value,
    };
    return new KStream<K2, V2>(this.b, name, {
      keyChanged: this.keyChanged || !!o.changesKey || !!o.keyChange,
      serdes,
    });
  }

  private declare(s: StoreSpec): string {
    this.b.addStore(s);
    return s.name;
  }

  /** Replaces each record by `fn(record)`; key and value may change. */
  map<K2, V2>(fn: (r: Rec<K, V>) => Rec<K2, V2>, name?: string): KStream<K2, V2> {
    return this.add('map', { name, fn, keyChange: true, valueChange: true });
  }

  /** Replaces each value by `fn(value, record)`; keys stay (no repartition needed). */
  mapValues<V2>(fn: (value: V, r: Rec<K, V>) => V2, name?: string): KStream<K, V2> {
    return this.add('mapValues', { name, fn, valueChange: true });
  }

  /** Keeps the records for which `fn(record)` is true. */
  filter(fn: (r: Rec<K, V>) => boolean, name?: string): KStream<K, V> {
    return this.add('filter', { name, fn });
  }

  /** Replaces each record by the records `fn(record)` returns (zero or more). */
  flatMap<K2, V2>(fn: (r: Rec<K, V>) => Array<Rec<K2, V2>>, name?: string): KStream<K2, V2> {
    return this.add('flatMap', { name, fn, keyChange: true, valueChange: true });
  }

  /** Calls `fn(record)` for its side effect and passes the record on. */
  peek(fn: (r: Rec<K, V>) => void, name?: string): KStream<K, V> {
    return this.add('peek', { name, fn });
  }

  /** Sets each record's key to `fn(record)`; a later `groupByKey()` repartitions first. */
  selectKey<K2>(fn: (r: Rec<K, V>) => K2, name?: string): KStream<K2, V> {
    return this.add('selectKey', { name, fn, keyChange: true });
  }

  /**
   * Splits the stream into named branches: each record goes to the first branch whose
   * predicate holds (records matching none are dropped). Branches are named outputs of
   * one `branch` node (children attach as `<node>:<branch>`).
   *
   * ```ts
   * const { big, small } = trades.branch({ big: (r) => r.value.volume > 100, small: () => true });
   * ```
   */
  branch<B extends string>(
    predicates: Record<B, (r: Rec<K, V>) => boolean>,
    name?: string,
  ): Record<B, KStream<K, V>> {
    const names = Object.keys(predicates) as B[];
    const node = this.add<K, V>('branch', {
      name,
      options: { branches: names },
      fn: names.map((n) => predicates[n]),
    });
    const out = {} as Record<B, KStream<K, V>>;
    for (const n of names) out[n] = node.output(n);
    return out;
  }

  /**
   * One stream of this one's records and `other`'s, in the order they are processed (a
   * processor with two parents). Keys changed on either side carry over: a later
   * `groupByKey()` or `join()` repartitions first.
   */
  merge(other: KStream<K, V>, name?: string): KStream<K, V> {
    const n = this.b.nameFor('merge', name);
    this.b.addNode({
      kind: 'processor',
      name: n,
      type: 'passthrough',
      parents: [this.ref, other.ref],
      options: {},
      stores: [],
    });
    return new KStream<K, V>(this.b, n, {
      keyChanged: this.keyChanged || other.keyChanged,
      serdes: this.serdes,
    });
  }

  /**
   * Joins each record of this stream:
   *
   * - with a table (`join(table, joiner)`): records whose key the table holds become
   *   `joiner(value, tableValue, key)`; the others (and records with a null key or value)
   *   are dropped. The table is read as it is when the record is processed.
   * - with another stream in join windows (`join(other, joiner, joinWindows(ms, grace))`):
   *   each pair of records with equal keys at most the window apart, once, as
   *   `joiner(value, otherValue, key)`. Both sides' records wait in changelogged window stores.
   * - with a global table (`join(globalTable, (key, value) => tableKey, joiner)`): on a key
   *   computed from the record; no repartition, whatever the stream's keys.
   *
   * A stream whose key changed is repartitioned first (not for a global table); the two
   * sides' keys must use the same serde (checked at build), and their topics must be
   * co-partitioned (checked at start-up).
   */
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT, key: K) => VR,
    name?: string,
  ): KStream<K, VR>;
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    windows: JoinWindows,
    opts?: StreamJoinOptions,
  ): KStream<K, VR>;
  join<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keyOf: (key: K, value: V) => GK,
    joiner: (value: V, tableValue: GV, key: K) => VR,
    name?: string,
  ): KStream<K, VR>;
  join(target: unknown, fn: unknown, third?: unknown, fourth?: unknown): KStream<K, unknown> {
    return this.joinAny('inner', target, fn, third, fourth);
  }

  /**
   * As `join()`, but every record of this stream joins: with `null` for the table's value
   * when the table lacks the key, and — with another stream — as `joiner(value, null)` once
   * no record of the other stream can join it any more (its window closed).
   */
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    name?: string,
  ): KStream<K, VR>;
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    opts?: StreamJoinOptions,
  ): KStream<K, VR>;
  leftJoin<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keyOf: (key: K, value: V) => GK,
    joiner: (value: V, tableValue: GV | null, key: K) => VR,
    name?: string,
  ): KStream<K, VR>;
  leftJoin(target: unknown, fn: unknown, third?: unknown, fourth?: unknown): KStream<K, unknown> {
    return this.joinAny('left', target, fn, third, fourth);
  }

  /**
   * Windowed outer join with another stream: pairs as `join()`, and every record of either
   * stream that joined nothing once its window closed, with `null` for the missing side.
   */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    opts?: StreamJoinOptions,
  ): KStream<K, VR> {
    return this.joinAny('outer', other, joiner, windows, opts) as KStream<K, VR>;
  }

  private joinAny(
    kind: 'inner' | 'left' | 'outer',
    target: unknown,
    fn: unknown,
    third?: unknown,
    fourth?: unknown,
  ): KStream<K, unknown> {
    const out = (n: string) =>
      this.b.streamOf<K, unknown>(n, { key: this.serdes.key, value: DEFAULT_SERDES.value });
    if (target instanceof GlobalKTable) {
      const fns = { keyOf: fn, joiner: third };
      return out(addGlobalJoin(this.b, this, target, kind as 'inner', fns, fourth as string));
    }
    if (target instanceof KTable)
      return out(
        addTableJoin(this.b, this.copartitioned(), target, kind as 'inner', fn, third as string),
      );
    const other = (target as KStream<K, unknown>).copartitioned();
    const sides = { left: this.copartitioned(), right: other };
    return out(
      addStreamJoin(this.b, sides, kind, third as JoinWindows, fn, fourth as StreamJoinOptions),
    );
  }

  /** This stream, repartitioned first when its keys changed (before a join or a grouping). */
  copartitioned(serdes: Serdes = this.serdes): KStream<K, V> {
    return this.keyChanged
      ? this.b.repartitionOnce(this.ref, () => this.repartitionWith(serdes))
      : this;
  }

  /**
   * `selectKey(fn)` then `groupByKey()`: groups by a key computed from each record (a
   * repartition topic follows).
   */
  groupBy<K2, const S extends GroupedSerdes = GroupedSerdes>(
    fn: (r: Rec<K, V>) => K2,
    serdes?: S & GroupedSerdesCheck<K2, V, S>,
    name?: string,
  ): KGroupedStream<K2, V> {
    const s = serdes ?? { keySerde: 'string', valueSerde: this.serdes.value };
    return this.selectKey(fn, name).groupWith({ key: s.keySerde, value: s.valueSerde });
  }

  /** The named output `output` of this stream's node (e.g. `late` of a windowed aggregate). */
  output(output: string): KStream<K, V> {
    return new KStream<K, V>(this.b, this.node, { ...this.state, output });
  }

  /**
   * A built-in or registered processor type by name, or a definition given here (used by
   * this topology only, not registered globally), with its options and stores. Declare
   * the types of its output records with the type arguments.
   *
   * ```ts
   * stream.process('dedupe-trades', { name: 'dedupe', options: { key: 'content' } });
   * stream.process<string, Alert>(myDefinition, { options: { threshold: 3 } });
   * ```
   */
  process<K2 = unknown, V2 = unknown>(
    type: string | ProcessorTypeDefinition,
    opts: ProcessOptions = {},
  ): KStream<K2, V2> {
    if (typeof type !== 'string') this.b.addDefinition(type);
    const name = typeof type === 'string' ? type : type.type;
    const changesKey =
      opts.changesKey ??
      (typeof type === 'string' ? getDefaultCatalog()?.get(type)?.changesKey : type.changesKey);
    return this.add(name, { ...opts, changesKey, valueChange: !opts.serdes });
  }

  /** Writes the stream to `topic` (serdes default to the stream's; names known to clash with the records' types do not compile). */
  to<const S extends Serdes = Serdes>(
    topic: string,
    serdes?: S & SerdesCheck<K, V, S>,
    name?: string,
  ): void {
    const s: Serdes = serdes ?? this.serdes;
    const n = this.b.nameFor('sink', name);
    this.b.addNode({
      kind: 'sink',
      name: n,
      topic,
      parents: [this.ref],
      keySerde: s.key,
      valueSerde: s.value,
    });
  }

  /**
   * Routes the stream through the topic `<app>-<name>-repartition` (a sink and a source;
   * the topology splits into two sub-topologies there) so records meet by their key.
   * `name` defaults to this stream's node.
   */
  repartition<const S extends Serdes = Serdes>(
    serdes?: S & SerdesCheck<K, V, S>,
    name?: string,
  ): KStream<K, V> {
    return this.repartitionWith(serdes ?? this.serdes, name);
  }

  private repartitionWith(s: Serdes, name?: string): KStream<K, V> {
    const base = name ?? (this.state.output ? `${this.node}-${this.state.output}` : this.node);
    const topic = `${base}-repartition`;
    this.b.addNode({
      kind: 'sink',
      name: `${base}-sink`,
      topic,
      parents: [this.ref],
      keySerde: s.key,
      valueSerde: s.value,
      internal: true,
    });
    this.b.addNode({
      kind: 'source',
      name: `${base}-source`,
      topics: [topic],
      keySerde: s.key,
      valueSerde: s.value,
      internal: true,
    });
    return new KStream<K, V>(this.b, `${base}-source`, { keyChanged: false, serdes: s });
  }

  /**
   * Groups by the current key for `count()`, `aggregate()`, `reduce()` or `windowedBy()`.
   * When an earlier step changed keys, a repartition topic named after this node is
   * inserted first.
   */
  groupByKey<const S extends GroupedSerdes = GroupedSerdes>(
    serdes?: S & GroupedSerdesCheck<K, V, S>,
  ): KGroupedStream<K, V> {
    return this.groupWith(
      serdes ? { key: serdes.keySerde, value: serdes.valueSerde } : this.serdes,
    );
  }

  private groupWith(s: Serdes): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this.b, this.copartitioned(s), {
      keySerde: s.key,
      valueSerde: s.value,
    });
  }
}

/**
 * The stream of a key-value aggregation's results (`count()`, `aggregate()`, `reduce()`):
 * a `KStream` that can also be suppressed.
 */
export class AggregatedStream<K, V> extends KStream<K, V> {
  /** Forwards each key's newest value at most once per time limit (see `untilTimeLimit`). */
  suppress(s: TimeLimitSuppression, opts: SuppressOptions = {}): KStream<K, V> {
    return addSuppress(this.b, this, s, undefined, opts);
  }
}

/**
 * The stream of a windowed aggregation's results: a `KStream` of `Windowed` values that can
 * also be suppressed until each window closes, or by a time limit.
 */
export class WindowedStream<K, A> extends KStream<K, Windowed<A>> {
  constructor(
    b: TopologyBuilder,
    node: string,
    state: StreamState,
    private readonly closing: WindowClosing,
  ) {
    super(b, node, state);
  }

  /** Holds the updates back: until each window closes (final results), or by a time limit. */
  suppress(
    s: WindowCloseSuppression | TimeLimitSuppression,
    opts: SuppressOptions = {},
  ): KStream<K, Windowed<A>> {
    return addSuppress(this.b, this, s, this.closing, opts);
  }
}
