/**
 * The typed builder: a fluent DSL that appends nodes to a spec. Lambdas are kept in a side
 * table (the spec marks those nodes `inline`); everything else is plain data, so the
 * result equals what a YAML file naming the same processor types gives.
 *
 * ```ts
 * const b = new TopologyBuilder('word-count');
 * b.stream('lines', { key: 'string', value: 'string' })
 *   .flatMap((r) => String(r.value).split(' ').map((w) => ({ ...r, key: w, value: w })))
 *   .groupByKey({ keySerde: 'string', valueSerde: 'string' })
 *   .count({ name: 'counts' })
 *   .to('word-counts', { key: 'string', value: 'int64' });
 * const topology = b.build();
 * ```
 */
import { buildTopology, type BuiltTopology } from './build.js';
import type { ProcessorCatalog } from './catalog.js';
import type { Json, NodeSpec, StoreSpec, TopologySpec } from './spec.js';

/** A record as the builder's lambdas see it. */
export interface Rec<K = any, V = any> {
  key: K;
  value: V;
  timestamp: number;
  headers?: Record<string, string | Buffer>;
}

export interface Serdes {
  key: string;
  value: string;
}

export interface TumblingWindow {
  sizeMs: number;
  graceMs: number;
}

/** Tumbling (non-overlapping, epoch-aligned) windows of `sizeMs`, accepting records up to `graceMs` late. */
export const tumbling = (sizeMs: number, graceMs = 0): TumblingWindow => ({ sizeMs, graceMs });

export class TopologyBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly stores: StoreSpec[] = [];
  private readonly inline = new Map<string, unknown>();
  private counter = 0;

  constructor(readonly name?: string) {}

  /** A unique node name for `type` when the user gave none. */
  nameFor(type: string, given?: string): string {
    return given ?? `${type}-${++this.counter}`;
  }

  addNode(node: NodeSpec, fn?: unknown): string {
    this.nodes.push(node);
    if (fn !== undefined) this.inline.set(node.name, fn);
    return node.name;
  }

  addStore(store: StoreSpec): void {
    if (!this.stores.some((s) => s.name === store.name)) this.stores.push(store);
  }

  /** Reads `topics` (one or several) with the given serdes. */
  stream(topics: string | string[], serdes: Serdes, name?: string): KStream {
    const n = this.nameFor('source', name);
    this.addNode({
      kind: 'source',
      name: n,
      topics: Array.isArray(topics) ? topics : [topics],
      keySerde: serdes.key,
      valueSerde: serdes.value,
    });
    return new KStream(this, n, false);
  }

  spec(): TopologySpec {
    return {
      version: 1,
      ...(this.name ? { name: this.name } : {}),
      nodes: structuredClone(this.nodes),
      stores: structuredClone(this.stores),
    };
  }

  /** Validates and freezes (see `buildTopology`). */
  build(catalog?: ProcessorCatalog): BuiltTopology {
    return buildTopology(this.spec(), { catalog, inline: this.inline });
  }
}

export class KStream<K = any, V = any> {
  constructor(
    private readonly b: TopologyBuilder,
    /** The node whose output this stream is. */
    readonly node: string,
    /** True after a key-changing step: a later stateful step repartitions first. */
    readonly keyChanged: boolean,
  ) {}

  private add(
    type: string,
    opts: { name?: string; options?: Json; stores?: string[]; fn?: unknown; changesKey?: boolean },
  ): KStream {
    const name = this.b.nameFor(type, opts.name);
    this.b.addNode(
      {
        kind: 'processor',
        name,
        type,
        parents: [this.node],
        options: opts.options ?? {},
        stores: opts.stores ?? [],
        ...(opts.fn ? { inline: true } : {}),
      },
      opts.fn,
    );
    return new KStream(this.b, name, this.keyChanged || !!opts.changesKey);
  }

  map<K2, V2>(fn: (r: Rec<K, V>) => Rec<K2, V2>, name?: string): KStream<K2, V2> {
    return this.add('map', { name, fn, changesKey: true });
  }

  mapValues<V2>(fn: (value: V, r: Rec<K, V>) => V2, name?: string): KStream<K, V2> {
    return this.add('mapValues', { name, fn });
  }

  filter(fn: (r: Rec<K, V>) => boolean, name?: string): KStream<K, V> {
    return this.add('filter', { name, fn });
  }

  flatMap<K2, V2>(fn: (r: Rec<K, V>) => Array<Rec<K2, V2>>, name?: string): KStream<K2, V2> {
    return this.add('flatMap', { name, fn, changesKey: true });
  }

  peek(fn: (r: Rec<K, V>) => void, name?: string): KStream<K, V> {
    return this.add('peek', { name, fn });
  }

  selectKey<K2>(fn: (r: Rec<K, V>) => K2, name?: string): KStream<K2, V> {
    return this.add('selectKey', { name, fn, changesKey: true });
  }

  /** Splits the stream: each record goes to the first branch whose predicate holds. */
  branch(
    predicates: Record<string, (r: Rec<K, V>) => boolean>,
    name?: string,
  ): Record<string, KStream<K, V>> {
    const names = Object.keys(predicates);
    const b = this.add('branch', {
      name,
      options: { branches: names },
      fn: names.map((n) => predicates[n]),
    });
    const out: Record<string, KStream<K, V>> = {};
    for (const n of names)
      out[n] = (b as KStream<K, V>).add('passthrough', { name: `${b.node}-${n}` }) as KStream<K, V>;
    return out;
  }

  /** A built-in or registered processor type, with its options and the stores it uses. */
  process<K2 = any, V2 = any>(
    type: string,
    opts: { name?: string; options?: Json; stores?: string[]; changesKey?: boolean } = {},
  ): KStream<K2, V2> {
    return this.add(type, opts);
  }

  /** Writes the stream to `topic`. */
  to(topic: string, serdes: Serdes, name?: string): void {
    const n = this.b.nameFor('sink', name);
    this.b.addNode({
      kind: 'sink',
      name: n,
      topic,
      parents: [this.node],
      keySerde: serdes.key,
      valueSerde: serdes.value,
    });
  }

  /** Routes the stream through `<app>-<name>-repartition` so records meet by their (new) key. */
  repartition(serdes: Serdes, name?: string): KStream<K, V> {
    const base = this.b.nameFor('repartition', name);
    const topic = `${base}-repartition`;
    this.b.addNode({
      kind: 'sink',
      name: `${base}-sink`,
      topic,
      parents: [this.node],
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
    return new KStream(this.b, `${base}-source`, false);
  }

  /** Groups by the current key; repartitions first when an earlier step changed keys. */
  groupByKey(
    serdes: { keySerde: string; valueSerde: string } = { keySerde: 'string', valueSerde: 'json' },
  ): KGroupedStream<K, V> {
    const stream = this.keyChanged
      ? this.repartition({ key: serdes.keySerde, value: serdes.valueSerde })
      : this;
    return new KGroupedStream(this.b, stream, serdes);
  }
}

export class KGroupedStream<K, V> {
  constructor(
    private readonly b: TopologyBuilder,
    private readonly stream: KStream<K, V>,
    private readonly serdes: { keySerde: string; valueSerde: string },
  ) {}

  /** Counts records per key; emits the updated count of each record's key. */
  count(opts: { name?: string; store?: string } = {}): KStream<K, number> {
    const name = this.b.nameFor('count', opts.name);
    const store = opts.store ?? `${name}-store`;
    this.b.addStore({
      name: store,
      kind: 'keyValue',
      keySerde: this.serdes.keySerde,
      valueSerde: 'int64',
      logged: true,
      cache: true,
    });
    return this.stream.process('count', { name, options: { store }, stores: [store] });
  }

  /** Folds records per key into an aggregate; emits the updated aggregate. */
  aggregate<A>(
    init: () => A,
    adder: (key: K, value: V, agg: A) => A,
    opts: { name?: string; store?: string; valueSerde?: string } = {},
  ): KStream<K, A> {
    const name = this.b.nameFor('aggregate', opts.name);
    const store = opts.store ?? `${name}-store`;
    this.b.addStore({
      name: store,
      kind: 'keyValue',
      keySerde: this.serdes.keySerde,
      valueSerde: opts.valueSerde ?? 'json',
      logged: true,
      cache: true,
    });
    const n = this.b.nameFor('aggregate', name);
    this.b.addNode(
      {
        kind: 'processor',
        name: n,
        type: 'aggregate',
        parents: [this.stream.node],
        options: { store },
        stores: [store],
        inline: true,
      },
      { init, adder },
    );
    return new KStream(this.b, n, false);
  }

  windowedBy(window: TumblingWindow): TimeWindowedStream<K, V> {
    return new TimeWindowedStream(this.b, this.stream, this.serdes, window);
  }
}

/** A windowed result: the window and its final aggregate, emitted once when the window closes. */
export interface Windowed<A> {
  window_start: number;
  window_end: number;
  value: A;
}

export class TimeWindowedStream<K, V> {
  constructor(
    private readonly b: TopologyBuilder,
    private readonly stream: KStream<K, V>,
    private readonly serdes: { keySerde: string; valueSerde: string },
    private readonly window: TumblingWindow,
  ) {}

  private windowStore(name: string, valueSerde: string): string {
    const store = `${name}-store`;
    const retentionMs = this.window.sizeMs + this.window.graceMs;
    this.b.addStore({
      name: store,
      kind: 'window',
      keySerde: this.serdes.keySerde,
      valueSerde,
      logged: true,
      cache: true,
      retentionMs,
      windowSizeMs: this.window.sizeMs,
    });
    return store;
  }

  count(opts: { name?: string } = {}): KStream<K, Windowed<number>> {
    const name = this.b.nameFor('windowed-count', opts.name);
    const store = this.windowStore(name, 'json');
    return this.stream.process('windowed-count', {
      name,
      options: { store, sizeMs: this.window.sizeMs, graceMs: this.window.graceMs },
      stores: [store],
    });
  }

  aggregate<A>(
    init: () => A,
    adder: (key: K, value: V, agg: A) => A,
    opts: { name?: string; valueSerde?: string } = {},
  ): KStream<K, Windowed<A>> {
    const name = this.b.nameFor('windowed-aggregate', opts.name);
    const store = this.windowStore(name, opts.valueSerde ?? 'json');
    this.b.addNode(
      {
        kind: 'processor',
        name,
        type: 'windowed-aggregate',
        parents: [this.stream.node],
        options: { store, sizeMs: this.window.sizeMs, graceMs: this.window.graceMs },
        stores: [store],
        inline: true,
      },
      { init, adder },
    );
    return new KStream(this.b, name, false);
  }
}
