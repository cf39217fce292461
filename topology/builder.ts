/**
 * The typed builder: a fluent DSL that appends nodes to a spec. Lambdas are kept in a side
 * table (the spec marks those nodes `inline`); everything else is plain data, so the
 * result equals what a YAML file naming the same processor types gives. `build()`
 * validates and freezes; no builder call throws on a wiring error.
 *
 * ```ts
 * const b = new TopologyBuilder('word-count');
 * b.stream('lines', { key: 'string', value: 'string' })
 *   .flatMap((r) => String(r.value).split(' ').map((w) => ({ ...r, key: w, value: w })))
 *   .groupByKey()            // the key changed: a repartition topic is inserted here
 *   .count({ name: 'counts' })
 *   .to('word-counts', { key: 'string', value: 'int64' });
 * const topology = b.build('word-count-app');
 * ```
 */
import { buildTopology, type BuildOptions, type BuiltTopology } from './build.js';
import { getDefaultCatalog, type ProcessorTypeDefinition } from './catalog.js';
import { TopologyError } from './errors.js';
import { KGroupedStream } from './grouped.js';
import { KTable, type TableOptions } from './table.js';
import { parentRef, type Json, type NodeSpec, type StoreSpec, type TopologySpec } from './spec.js';

/** A record as the builder's lambdas see it. `timestamp` is epoch ms. */
export interface Rec<K = any, V = any> {
  key: K;
  value: V;
  timestamp: number;
  headers?: Record<string, string | Buffer>;
}

/** Serde names for keys and values: `string`, `json`, `bytes`, `int64`, `float64`, or a registered one. */
export interface Serdes {
  key: string;
  value: string;
}

/** Serdes a stream falls back to where it cannot know better (after a map, say). */
export const DEFAULT_SERDES: Serdes = { key: 'string', value: 'json' };

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

export class TopologyBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly stores: StoreSpec[] = [];
  private readonly inline = new Map<string, unknown>();
  private readonly definitions = new Map<string, ProcessorTypeDefinition>();
  private readonly repartitioned = new Map<string, KStream>();
  private counter = 0;

  /** `name` is the topology's name (written in the spec; not the application id). */
  constructor(readonly name?: string) {}

  /** A unique node name for `type` when the user gave none. */
  nameFor(type: string, given?: string): string {
    return given ?? `${type}-${++this.counter}`;
  }

  /** Appends a node; `fn` is its inline function(s), kept out of the spec. */
  addNode(node: NodeSpec, fn?: unknown): string {
    this.nodes.push(node);
    if (fn !== undefined) this.inline.set(node.name, fn);
    return node.name;
  }

  /** Declares a store (a second declaration of the same name is ignored). */
  addStore(store: StoreSpec): void {
    if (!this.stores.some((s) => s.name === store.name)) this.stores.push(store);
  }

  /** Keeps a definition given to `process()`; two different ones of one type fail at `build()`. */
  addDefinition(def: ProcessorTypeDefinition): void {
    const known = this.definitions.get(def.type);
    if (known && known !== def) this.conflicts.add(def.type);
    this.definitions.set(def.type, def);
  }

  private readonly conflicts = new Set<string>();

  /** The repartitioned stream of `ref` (one repartition topic per stream, however often grouped). */
  repartitionOnce(ref: string, make: () => KStream): KStream {
    return this.repartitioned.get(ref) ?? this.repartitioned.set(ref, make()).get(ref)!;
  }

  /**
   * Reads `topics` (one or several) with the given serde names.
   *
   * ```ts
   * const clicks = b.stream('clicks', { key: 'string', value: 'json' });
   * ```
   */
  stream<K = any, V = any>(
    topics: string | string[],
    serdes: Serdes,
    name?: string,
  ): KStream<K, V> {
    const n = this.nameFor('source', name);
    this.addNode({
      kind: 'source',
      name: n,
      topics: Array.isArray(topics) ? topics : [topics],
      keySerde: serdes.key,
      valueSerde: serdes.value,
    });
    return new KStream(this, n, { keyChanged: false, serdes });
  }

  /**
   * Reads `topic` as a table: the latest value per key, kept in a key-value store with a
   * changelog (a record with a null value deletes its key). Streams join it with
   * `join()` / `leftJoin()`; the table's topic and the stream's must have equal partition
   * counts (the join runs in the task of each partition).
   *
   * ```ts
   * const users = b.table('users', { key: 'string', value: 'json' });
   * clicks.join(users, (click, user) => ({ ...click, country: user.country })).to('enriched');
   * ```
   */
  table<K = any, V = any>(topic: string, serdes: Serdes, opts: TableOptions = {}): KTable<K, V> {
    const name = this.nameFor('table', opts.name);
    const store = opts.store ?? `${name}-store`;
    this.addStore({
      name: store,
      kind: 'keyValue',
      keySerde: serdes.key,
      valueSerde: serdes.value,
      logged: opts.logged ?? true,
      cache: opts.cache ?? true,
    });
    const source = this.stream<K, V>(topic, serdes, `${name}-source`);
    const changes = source.process<K, V | null>('table', {
      name,
      options: { store },
      stores: [store],
      serdes,
    });
    return new KTable<K, V>(this, changes, store, serdes);
  }

  /** A stream of `node`'s default output (for DSL steps that add their own nodes). */
  streamOf<K, V>(node: string, serdes: Serdes): KStream<K, V> {
    return new KStream(this, node, { keyChanged: false, serdes });
  }

  /** The spec written so far (a copy: plain, JSON-serialisable data). */
  spec(): TopologySpec {
    return {
      version: 1,
      ...(this.name ? { name: this.name } : {}),
      nodes: structuredClone(this.nodes),
      stores: structuredClone(this.stores),
    };
  }

  /**
   * Validates and freezes (see `buildTopology`). `applicationId` names internal topics in
   * `describe()` and diagrams; pass an object for more options.
   */
  build(applicationId?: string | Omit<BuildOptions, 'inline' | 'definitions'>): BuiltTopology {
    const opts = typeof applicationId === 'string' ? { applicationId } : (applicationId ?? {});
    for (const type of this.conflicts)
      throw new TopologyError(
        'DUPLICATE_TYPE',
        `two different processor definitions have type "${type}"; give each definition its own type name`,
      );
    return buildTopology(this.spec(), {
      ...opts,
      inline: this.inline,
      definitions: this.definitions,
    });
  }
}

interface StreamState {
  /** True after a key-changing step: a later stateful step repartitions first. */
  keyChanged: boolean;
  serdes: Serdes;
  /** The named output of `node` this stream is (default output when undefined). */
  output?: string;
}

export class KStream<K = any, V = any> {
  constructor(
    private readonly b: TopologyBuilder,
    /** The node whose output this stream is. */
    readonly node: string,
    private readonly state: StreamState,
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

  private add(
    type: string,
    o: ProcessOptions & { fn?: unknown; keyChange?: boolean; valueChange?: boolean },
  ): KStream<any, any> {
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
    return new KStream(this.b, name, {
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
    const node = this.add('branch', {
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
    return new KStream(this.b, n, {
      keyChanged: this.keyChanged || other.keyChanged,
      serdes: this.serdes,
    });
  }

  /**
   * Inner stream-table join: each record whose key `table` holds becomes
   * `joiner(value, tableValue, key)`; records whose key it does not hold (or with a null
   * key or value) are dropped. The table is read as it is when the record is processed.
   * After a key change the stream is repartitioned first (with the table's partition count).
   */
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT, key: K) => VR,
    name?: string,
  ): KStream<K, VR> {
    return this.joinTable('inner', table, joiner, name);
  }

  /** As `join()`, but every record joins: `tableValue` is `null` when the table lacks the key. */
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    name?: string,
  ): KStream<K, VR> {
    return this.joinTable('left', table, joiner, name);
  }

  private joinTable(
    kind: 'inner' | 'left',
    table: KTable<any, any>,
    joiner: (...a: any[]) => unknown,
    name?: string,
  ): KStream<any, any> {
    const stream = this.keyChanged
      ? this.b.repartitionOnce(this.ref, () => this.repartition(this.serdes))
      : this;
    const n = this.b.nameFor('join', name);
    this.b.addNode(
      {
        kind: 'processor',
        name: n,
        type: 'stream-table-join',
        parents: [stream.ref],
        options: { store: table.storeName, kind },
        stores: [table.storeName],
        inline: true,
      },
      joiner,
    );
    return new KStream(this.b, n, {
      keyChanged: false,
      serdes: { key: this.serdes.key, value: DEFAULT_SERDES.value },
    });
  }

  /**
   * `selectKey(fn)` then `groupByKey()`: groups by a key computed from each record (a
   * repartition topic follows).
   */
  groupBy<K2>(
    fn: (r: Rec<K, V>) => K2,
    serdes?: { keySerde: string; valueSerde: string },
    name?: string,
  ): KGroupedStream<K2, V> {
    return this.selectKey(fn, name).groupByKey(
      serdes ?? { keySerde: 'string', valueSerde: this.serdes.value },
    );
  }

  /** The named output `output` of this stream's node (e.g. `late` of a windowed aggregate). */
  output(output: string): KStream<K, V> {
    return new KStream(this.b, this.node, { ...this.state, output });
  }

  /**
   * A built-in or registered processor type by name, or a definition given here (used by
   * this topology only, not registered globally), with its options and stores.
   *
   * ```ts
   * stream.process('dedupe-trades', { name: 'dedupe', options: { key: 'content' } });
   * stream.process(myDefinition, { options: { threshold: 3 } });
   * ```
   */
  process<K2 = any, V2 = any>(
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

  /** Writes the stream to `topic` (serdes default to the stream's). */
  to(topic: string, serdes: Serdes = this.serdes, name?: string): void {
    const n = this.b.nameFor('sink', name);
    this.b.addNode({
      kind: 'sink',
      name: n,
      topic,
      parents: [this.ref],
      keySerde: serdes.key,
      valueSerde: serdes.value,
    });
  }

  /**
   * Routes the stream through the topic `<app>-<name>-repartition` (a sink and a source;
   * the topology splits into two sub-topologies there) so records meet by their key.
   * `name` defaults to this stream's node.
   */
  repartition(serdes: Serdes = this.serdes, name?: string): KStream<K, V> {
    const base = name ?? (this.state.output ? `${this.node}-${this.state.output}` : this.node);
    const topic = `${base}-repartition`;
    this.b.addNode({
      kind: 'sink',
      name: `${base}-sink`,
      topic,
      parents: [this.ref],
      keySerde: serdes.key,
      valueSerde: serdes.value,
      internal: true,
    });
    this.b.addNode({
      kind: 'source',
      name: `${base}-source`,
      topics: [topic],
      keySerde: serdes.key,
      valueSerde: serdes.value,
      internal: true,
    });
    return new KStream(this.b, `${base}-source`, { keyChanged: false, serdes });
  }

  /**
   * Groups by the current key for `count()`, `aggregate()` or `windowedBy()`. When an
   * earlier step changed keys, a repartition topic named after this node is inserted first.
   */
  groupByKey(serdes?: { keySerde: string; valueSerde: string }): KGroupedStream<K, V> {
    const s = serdes ? { key: serdes.keySerde, value: serdes.valueSerde } : this.serdes;
    const stream = this.keyChanged
      ? this.b.repartitionOnce(this.ref, () => this.repartition(s))
      : this;
    return new KGroupedStream(this.b, stream, { keySerde: s.key, valueSerde: s.value });
  }
}
