/**
 * The typed builder: a fluent DSL that appends nodes to a spec. Lambdas are kept in a side
 * table (the spec marks those nodes `inline`); everything else is plain data, so the
 * result equals what a YAML file naming the same processor types gives. `build()`
 * validates and freezes; no builder call throws on a wiring error.
 *
 * ```ts
 * const b = new TopologyBuilder('word-count');
 * b.stream('lines', { key: 'string', value: 'string' })
 *   .flatMap((r) => r.value.split(' ').map((w) => ({ ...r, key: w, value: w })))
 *   .groupByKey()            // the key changed: a repartition topic is inserted here
 *   .count({ name: 'counts' })
 *   .to('word-counts', { key: 'string', value: 'int64' });
 * const topology = b.build('word-count-app');
 * ```
 */
import { buildTopology, type BuildOptions, type BuiltTopology } from './build.js';
import type { ProcessorTypeDefinition } from './catalog.js';
import { TopologyError } from './errors.js';
import type { Declared, Serdes } from './serdes.js';
import type { NodeSpec, StoreSpec, TopologySpec } from './spec.js';
import { KStream } from './stream.js';
import { GlobalKTable, KTable, type TableOptions } from './table.js';

export { KStream, type Rec, type ProcessOptions } from './stream.js';
export { DEFAULT_SERDES, type Serdes } from './serdes.js';

export class TopologyBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly stores: StoreSpec[] = [];
  private readonly inline = new Map<string, unknown>();
  private readonly definitions = new Map<string, ProcessorTypeDefinition>();
  private readonly repartitioned = new Map<string, KStream<unknown, unknown>>();
  private readonly conflicts = new Set<string>();
  /** Wiring errors the DSL found while appending (reported by `build()`, not thrown at once). */
  private readonly problems: TopologyError[] = [];
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

  /** Records a wiring error found by a DSL step; `build()` throws the first one. */
  addProblem(problem: TopologyError): void {
    this.problems.push(problem);
  }

  /** The repartitioned stream of `ref` (one repartition topic per stream, however often grouped). */
  repartitionOnce<K, V>(ref: string, make: () => KStream<K, V>): KStream<K, V> {
    const known = this.repartitioned.get(ref) as KStream<K, V> | undefined;
    if (known) return known;
    const made = make();
    this.repartitioned.set(ref, made as KStream<unknown, unknown>);
    return made;
  }

  /**
   * Reads `topics` (one or several) with the given serde names. Record types follow from
   * the names (`string` → string, `int64` → number, `json` → unknown), or declare them:
   *
   * ```ts
   * const clicks = b.stream<string, Click>('clicks', { key: 'string', value: 'json' });
   * ```
   */
  stream<K = never, V = never, const S extends Serdes = Serdes>(
    topics: string | string[],
    serdes: S,
    name?: string,
  ): KStream<Declared<K, S['key']>, Declared<V, S['value']>> {
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
   * const users = b.table<string, User>('users', { key: 'string', value: 'json' });
   * clicks.join(users, (click, user) => ({ ...click, country: user.country })).to('enriched');
   * ```
   */
  table<K = never, V = never, const S extends Serdes = Serdes>(
    topic: string,
    serdes: S,
    opts: TableOptions = {},
  ): KTable<Declared<K, S['key']>, Declared<V, S['value']>> {
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
    const source = this.stream<Declared<K, S['key']>, Declared<V, S['value']>>(
      topic,
      serdes,
      `${name}-source`,
    );
    const changes = source.process<Declared<K, S['key']>, Declared<V, S['value']> | null>('table', {
      name,
      options: { store },
      stores: [store],
      serdes,
    });
    return new KTable(this, changes, { stores: [store] }, serdes);
  }

  /**
   * Reads `topic` as a global table: every instance reads all its partitions into a
   * key-value store of its own (restored from the topic itself, no changelog) and keeps
   * it up to date while running. Streams join it on a key they compute from each record,
   * whatever their partitioning:
   *
   * ```ts
   * const products = b.globalTable<string, Product>('products', { key: 'string', value: 'json' });
   * orders.join(products, (_k, order) => order.sku, (order, product) => ({ ...order, product }));
   * ```
   */
  globalTable<K = never, V = never, const S extends Serdes = Serdes>(
    topic: string,
    serdes: S,
    opts: Omit<TableOptions, 'logged'> = {},
  ): GlobalKTable<Declared<K, S['key']>, Declared<V, S['value']>> {
    const name = this.nameFor('global-table', opts.name);
    const store = opts.store ?? `${name}-store`;
    this.addStore({
      name: store,
      kind: 'keyValue',
      keySerde: serdes.key,
      valueSerde: serdes.value,
      logged: false,
      cache: opts.cache ?? true,
      global: true,
    });
    const source = `${name}-source`;
    this.addNode({
      kind: 'source',
      name: source,
      topics: [topic],
      keySerde: serdes.key,
      valueSerde: serdes.value,
      global: true,
    });
    this.addNode({
      kind: 'processor',
      name,
      type: 'global-table',
      parents: [source],
      options: { store },
      stores: [store],
    });
    return new GlobalKTable(store, serdes);
  }

  /** A stream of `node`'s default output (for DSL steps that add their own nodes). */
  streamOf<K, V>(node: string, serdes: Serdes): KStream<K, V> {
    return new KStream<K, V>(this, node, { keyChanged: false, serdes });
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
    if (this.problems.length) throw this.problems[0];
    return buildTopology(this.spec(), {
      ...opts,
      inline: this.inline,
      definitions: this.definitions,
    });
  }
}
