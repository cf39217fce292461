/**
 * `build()`: validates a spec and freezes it into a topology that knows its
 * sub-topologies, internal topics and stores. Every wiring error surfaces here, named.
 */
import {
  getDefaultCatalog,
  overlayCatalog,
  type ProcessorCatalog,
  type ProcessorTypeDefinition,
  type ProcessorTypeInfo,
} from './catalog.js';
import { TopologyError } from './errors.js';
import {
  parseParent,
  type Json,
  type NodeSpec,
  type ProcessorSpec,
  type SinkSpec,
  type SourceSpec,
  type StoreSpec,
  type TopologySpec,
} from './spec.js';

/** A connected part of the topology; it runs as one task per partition of its source topics. */
export interface Subtopology {
  /** 0, 1, 2… in the order the sub-topologies' first nodes appear in the spec. */
  id: number;
  /** Node names in processing order (parents before children). */
  nodes: string[];
  sources: SourceSpec[];
  /** The topics its sources read, as written in the spec (internal ones without the app id). */
  sourceTopics: string[];
  sinks: SinkSpec[];
  /** Names of the stores its processors use. */
  stores: string[];
}

/** What `buildTopology` needs besides the spec. */
export interface BuildOptions {
  /** Names internal topics in `describe()` and diagrams (`<app>-<node>-repartition`, `<app>-<store>-changelog`). */
  applicationId?: string;
  /** Checks processor types and options; default: the processor registry. */
  catalog?: ProcessorCatalog;
  /** Functions given in code for inline nodes (builder lambdas), by node name. */
  inline?: ReadonlyMap<string, unknown>;
  /** Processor types given as definitions to the builder (not registered globally), by type. */
  definitions?: ReadonlyMap<string, ProcessorTypeDefinition>;
}

/**
 * A global store: the source reading its topic and the `global-table` node writing it.
 * Not a task: every instance runs it once, over all partitions of the topic.
 */
export interface GlobalStore {
  store: string;
  topic: string;
  source: SourceSpec;
  /** The `global-table` node. */
  processor: string;
  /** Its nodes as a sub-topology (id -1, -2, …), for an engine to run them. */
  subtopology: Subtopology;
}

export interface InternalTopic {
  /** As written in the spec (without the application id). */
  name: string;
  kind: 'repartition' | 'changelog';
  /** The sub-topology whose partition count the topic takes. */
  subtopology: number;
  config: Record<string, string>;
}

/**
 * A validated, frozen topology: its spec, sub-topologies, internal topics and stores.
 * Made by `TopologyBuilder.build()` or `buildTopology(spec)`.
 */
export class BuiltTopology {
  readonly nodesByName: ReadonlyMap<string, NodeSpec>;
  /** Child node names of each node (all outputs), in spec order. */
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Children of each node by output (`''` is the default output). */
  readonly outputs: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

  constructor(
    readonly spec: Readonly<TopologySpec>,
    readonly subtopologies: readonly Subtopology[],
    /** Functions given in code for inline nodes (builder lambdas), by node name. */
    readonly inline: ReadonlyMap<string, unknown>,
    /** Processor types the builder was given as definitions, by type. */
    readonly definitions: ReadonlyMap<string, ProcessorTypeDefinition> = new Map(),
    /** The application id given to `build()`, if any (names internal topics in descriptions). */
    readonly applicationId?: string,
    /** Global stores, each read in full by every instance (no tasks). */
    readonly globals: readonly GlobalStore[] = [],
  ) {
    this.nodesByName = new Map(spec.nodes.map((n) => [n.name, n]));
    const children = new Map<string, string[]>(spec.nodes.map((n) => [n.name, []]));
    const outputs = new Map<string, Map<string, string[]>>(
      spec.nodes.map((n) => [n.name, new Map()]),
    );
    for (const n of spec.nodes) {
      if (n.kind === 'source') continue;
      for (const ref of n.parents) {
        const { node, output = '' } = parseParent(ref);
        children.get(node)!.push(n.name);
        const byOutput = outputs.get(node)!;
        (byOutput.get(output) ?? byOutput.set(output, []).get(output)!).push(n.name);
      }
    }
    this.children = children;
    this.outputs = outputs;
  }

  store(name: string): StoreSpec | undefined {
    return this.spec.stores.find((s) => s.name === name);
  }

  /** Resolves a topic named in the spec to its run-time name (`<app>-<name>` when internal). */
  static topicName(applicationId: string, topic: string, internal?: boolean): string {
    return internal ? `${applicationId}-${topic}` : topic;
  }

  changelogTopic(applicationId: string, store: string): string {
    return `${applicationId}-${store}-changelog`;
  }

  /**
   * Repartition topics (`retention.ms=-1`, purged by the runtime) and changelog topics of logged stores (cleanup policy
   * `compact` for key-value stores, `compact,delete` for window and session stores), named as in the
   * spec: prefix them with `topicName(applicationId, name, true)`.
   */
  internalTopics(): InternalTopic[] {
    const out: InternalTopic[] = [];
    for (const sub of this.subtopologies) {
      for (const src of sub.sources)
        if (src.internal)
          for (const t of src.topics)
            out.push({
              name: t,
              kind: 'repartition',
              subtopology: sub.id,
              // Kept by no time (their records carry event times, which the broker's
              // retention would delete at once in a replay); purged once committed.
              config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
            });
      for (const s of sub.stores) {
        const spec = this.store(s)!;
        if (!spec.logged) continue;
        const timed = spec.kind !== 'keyValue';
        const config: Record<string, string> = {
          'cleanup.policy': timed ? 'compact,delete' : 'compact',
        };
        if (timed && spec.retentionMs)
          config['retention.ms'] = String(spec.retentionMs + 86_400_000);
        out.push({ name: `${s}-changelog`, kind: 'changelog', subtopology: sub.id, config });
      }
    }
    return out;
  }

  toJSON(): TopologySpec {
    return this.spec as TopologySpec;
  }
}

function fail(code: string, node: string | undefined, message: string): never {
  throw new TopologyError(code, message, node);
}

function checkNames(spec: TopologySpec): void {
  const seen = new Set<string>();
  for (const n of spec.nodes) {
    if (!n.name)
      fail('NAME_MISSING', undefined, `a ${n.kind} has no name; give every node a unique name`);
    if (n.name.includes(':'))
      fail(
        'NAME_INVALID',
        n.name,
        `node "${n.name}" has a ":" in its name; ":" separates a node from its named output in parents — rename the node`,
      );
    if (seen.has(n.name))
      fail(
        'DUPLICATE_NAME',
        n.name,
        `node "${n.name}" is defined twice; give each node a unique name`,
      );
    seen.add(n.name);
  }
  const stores = new Set<string>();
  for (const s of spec.stores) {
    if (stores.has(s.name))
      fail(
        'DUPLICATE_STORE',
        s.name,
        `store "${s.name}" is declared twice; give each store a unique name`,
      );
    stores.add(s.name);
  }
}

function checkWiring(spec: TopologySpec): void {
  const names = new Set(spec.nodes.map((n) => n.name));
  const topics = new Map<string, string>();
  for (const n of spec.nodes) {
    if (n.kind === 'source') {
      if (!n.topics.length)
        fail(
          'SOURCE_NO_TOPIC',
          n.name,
          `source "${n.name}" reads no topic; list at least one topic`,
        );
      for (const t of n.topics) {
        const other = topics.get(t);
        if (other)
          fail(
            'TOPIC_READ_TWICE',
            n.name,
            `topic "${t}" is read by both "${other}" and "${n.name}"; read it once and branch the stream instead`,
          );
        topics.set(t, n.name);
      }
      continue;
    }
    if (!n.parents.length) {
      fail(
        n.kind === 'sink' ? 'SINK_NO_PARENT' : 'PROCESSOR_NO_PARENT',
        n.name,
        `${n.kind} "${n.name}" has no parent; connect it to a source or processor`,
      );
    }
    for (const ref of n.parents) {
      const p = parseParent(ref).node;
      if (!names.has(p))
        fail(
          'UNKNOWN_PARENT',
          n.name,
          `${n.kind} "${n.name}" names an unknown parent "${p}"; define "${p}" or fix the name`,
        );
      const parent = spec.nodes.find((x) => x.name === p)!;
      if (parent.kind === 'sink')
        fail(
          'SINK_AS_PARENT',
          n.name,
          `"${n.name}" has the sink "${p}" as parent; a sink ends a stream — read its topic with a source instead`,
        );
    }
  }
}

/** Kahn's algorithm over parent edges; reports a node on a cycle. */
function order(spec: TopologySpec): string[] {
  const indegree = new Map(
    spec.nodes.map((n) => [n.name, n.kind === 'source' ? 0 : n.parents.length]),
  );
  const children = new Map<string, string[]>(spec.nodes.map((n) => [n.name, []]));
  for (const n of spec.nodes)
    if (n.kind !== 'source')
      for (const p of n.parents) children.get(parseParent(p).node)!.push(n.name);
  const queue = spec.nodes.filter((n) => indegree.get(n.name) === 0).map((n) => n.name);
  const out: string[] = [];
  while (queue.length) {
    const n = queue.shift()!;
    out.push(n);
    for (const c of children.get(n)!) {
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) queue.push(c);
    }
  }
  if (out.length < spec.nodes.length) {
    const stuck = spec.nodes.find((n) => !out.includes(n.name))!;
    fail(
      'CYCLE',
      stuck.name,
      `node "${stuck.name}" is on a cycle; a topology is a DAG — route the loop through a topic instead`,
    );
  }
  return out;
}

function typeOf(n: ProcessorSpec, catalog: ProcessorCatalog | undefined) {
  const info = catalog?.get(n.type);
  if (catalog && !info && !n.inline)
    fail(
      'UNKNOWN_PROCESSOR_TYPE',
      n.name,
      `processor "${n.name}" has unknown type "${n.type}"; known types: ${catalog.types().join(', ')} (or register yours with registerProcessor)`,
    );
  return info;
}

function validOptions(n: ProcessorSpec, info: ProcessorTypeInfo | undefined): Json {
  if (!info) return n.options;
  try {
    return info.validate(n.options, n.name);
  } catch (err) {
    fail('BAD_OPTIONS', n.name, `processor "${n.name}" (${n.type}): ${(err as Error).message}`);
  }
}

/** Adds the stores a type declares to the topology (when absent) and to the node's list. */
function withDeclaredStores(
  n: ProcessorSpec,
  needed: StoreSpec[],
  stores: Map<string, StoreSpec>,
): string[] {
  const names = [...n.stores];
  for (const s of needed) {
    const known = stores.get(s.name);
    if (known && known.kind !== s.kind)
      fail(
        'STORE_KIND_MISMATCH',
        n.name,
        `processor "${n.name}" (${n.type}) needs store "${s.name}" as a ${s.kind} store, but it is declared as ${known.kind}; change the store's kind or give the processor another store`,
      );
    if (!known) stores.set(s.name, s);
    if (!names.includes(s.name)) names.push(s.name);
  }
  for (const s of names)
    if (!stores.has(s))
      fail(
        'STORE_NOT_DECLARED',
        n.name,
        `processor "${n.name}" uses store "${s}" which is not declared; add it to the topology's stores`,
      );
  return names;
}

/** Checks types and options, and adds the stores types declare; returns the checked spec. */
function checkProcessors(spec: TopologySpec, catalog: ProcessorCatalog | undefined): TopologySpec {
  const stores = new Map(spec.stores.map((s) => [s.name, s]));
  const outputs = new Map<string, readonly string[] | undefined>();
  const nodes = spec.nodes.map((n): NodeSpec => {
    if (n.kind !== 'processor') return n;
    const info = typeOf(n, catalog);
    const options = validOptions(n, info);
    const names = withDeclaredStores(n, info?.stores?.(options, n.name) ?? [], stores);
    outputs.set(n.name, info ? (info.outputs?.(options) ?? []) : undefined);
    return { ...n, options, stores: names };
  });
  checkOutputs(nodes, outputs);
  return { ...spec, nodes, stores: [...stores.values()] };
}

/** Every `parent:output` reference names an output the parent's type declares. */
function checkOutputs(
  nodes: NodeSpec[],
  outputs: ReadonlyMap<string, readonly string[] | undefined>,
): void {
  for (const n of nodes) {
    if (n.kind === 'source') continue;
    for (const ref of n.parents) {
      const { node, output } = parseParent(ref);
      if (output === undefined) continue;
      const known = outputs.get(node);
      if (!outputs.has(node) || (known && !known.includes(output)))
        fail(
          'UNKNOWN_OUTPUT',
          n.name,
          `${n.kind} "${n.name}" reads output "${output}" of "${node}", which ${outputs.has(node) ? `has ${known!.length ? `outputs ${known!.join(', ')}` : 'no named outputs'}` : 'is not a processor'}; fix the parent reference`,
        );
    }
  }
}

/**
 * Sub-topologies: connected components over parent edges and shared stores (processors
 * that use one store run in one task, as Kafka Streams connects them); topics do not
 * connect (they join sub-topologies). A store that would join the two sides of one of the
 * topology's own topics (a repartition) is an error.
 */
function split(spec: TopologySpec, sorted: string[], global: GlobalNodes): Subtopology[] {
  const local = { ...spec, nodes: spec.nodes.filter((n) => !global.nodes.has(n.name)) };
  return splitLocal(
    local,
    sorted.filter((n) => !global.nodes.has(n)),
    global.stores,
  );
}

/** Union-find over node names. */
class Components {
  private readonly parent = new Map<string, string>();

  constructor(names: Iterable<string>) {
    for (const n of names) this.parent.set(n, n);
  }

  find(x: string): string {
    const p = this.parent.get(x)!;
    if (p === x) return x;
    const root = this.find(p);
    this.parent.set(x, root);
    return root;
  }

  union(a: string, b: string): void {
    this.parent.set(this.find(a), this.find(b));
  }
}

interface StoreJoin {
  store: string;
  first: string;
  node: string;
}

/** Connects processors that share a (task) store; returns where that joined two groups. */
function unionByStores(spec: TopologySpec, c: Components, globalStores: Set<string>): StoreJoin[] {
  const storeUser = new Map<string, string>();
  const joinedBy: StoreJoin[] = [];
  for (const n of spec.nodes) {
    if (n.kind !== 'processor') continue;
    for (const s of n.stores) {
      if (globalStores.has(s)) continue; // every task reads it; it joins no sub-topologies
      const first = storeUser.get(s);
      if (first === undefined) storeUser.set(s, n.name);
      else if (c.find(first) !== c.find(n.name)) {
        joinedBy.push({ store: s, first, node: n.name });
        c.union(n.name, first);
      }
    }
  }
  return joinedBy;
}

/** A store that joined the two sides of one of the topology's own topics is an error. */
function checkStoreLoops(groups: string[][], joinedBy: StoreJoin[], byName: Map<string, NodeSpec>) {
  for (const names of groups) {
    const why = joinedBy.find((j) => names.includes(j.node));
    if (!why) continue;
    const nodes = names.map((x) => byName.get(x)!);
    const read = new Set(nodes.flatMap((n) => (n.kind === 'source' ? n.topics : [])));
    const loop = nodes.find((n): n is SinkSpec => n.kind === 'sink' && read.has(n.topic));
    if (loop)
      fail(
        'STORE_SHARED_ACROSS_SUBTOPOLOGIES',
        why.node,
        `store "${why.store}" is used by "${why.first}" and "${why.node}", on the two sides of topic "${loop.topic}"; processors that share a store run in one task, so a store cannot span a repartition — give each side its own store`,
      );
  }
}

function subtopology(
  id: number,
  names: string[],
  byName: Map<string, NodeSpec>,
  globalStores: Set<string>,
): Subtopology {
  const nodes = names.map((x) => byName.get(x)!);
  const stores = new Set<string>();
  for (const n of nodes)
    if (n.kind === 'processor') for (const s of n.stores) if (!globalStores.has(s)) stores.add(s);
  const sources = nodes.filter((n): n is SourceSpec => n.kind === 'source');
  return {
    id,
    nodes: names,
    sources,
    sourceTopics: sources.flatMap((x) => x.topics),
    sinks: nodes.filter((n): n is SinkSpec => n.kind === 'sink'),
    stores: [...stores],
  };
}

function splitLocal(
  spec: TopologySpec,
  sorted: string[],
  globalStores: Set<string>,
): Subtopology[] {
  const c = new Components(spec.nodes.map((n) => n.name));
  for (const n of spec.nodes)
    if (n.kind !== 'source') for (const p of n.parents) c.union(n.name, parseParent(p).node);
  const joinedBy = unionByStores(spec, c, globalStores);
  const groups = new Map<string, string[]>();
  for (const name of sorted) {
    const root = c.find(name);
    (groups.get(root) ?? groups.set(root, []).get(root)!).push(name);
  }
  const firstIndex = (names: string[]) =>
    Math.min(...names.map((x) => spec.nodes.findIndex((n) => n.name === x)));
  const ordered = [...groups.values()].sort((a, b) => firstIndex(a) - firstIndex(b));
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  checkStoreLoops(ordered, joinedBy, byName);
  return ordered.map((names, id) => subtopology(id, names, byName, globalStores));
}

/**
 * Validates and freezes `spec`: every wiring error surfaces here as a `TopologyError`
 * naming the node and the fix. Splits the topology into sub-topologies (ids 0, 1, 2… in
 * spec order) joined by topics.
 *
 * ```ts
 * const topology = buildTopology(loadTopologyFile('clicks.yaml'), { applicationId: 'clicks' });
 * ```
 */
export function buildTopology(spec: TopologySpec, opts: BuildOptions = {}): BuiltTopology {
  if (spec.version !== 1)
    fail(
      'BAD_VERSION',
      undefined,
      `topology spec version ${String(spec.version)} is not supported; use version: 1`,
    );
  checkNames(spec);
  checkWiring(spec);
  const sorted = order(spec);
  const definitions = opts.definitions ?? new Map<string, ProcessorTypeDefinition>();
  const catalog = overlayCatalog(definitions, opts.catalog ?? getDefaultCatalog());
  const checked = checkProcessors(spec, catalog);
  checkInline(checked, opts.inline);
  const global = globalNodes(checked);
  const subs = split(checked, sorted, global);
  return new BuiltTopology(
    deepFreeze(checked),
    subs,
    opts.inline ?? new Map(),
    definitions,
    opts.applicationId,
    global.list,
  );
}

function checkInline(spec: TopologySpec, inline: ReadonlyMap<string, unknown> | undefined): void {
  for (const n of spec.nodes)
    if (n.kind === 'processor' && n.inline && !inline?.has(n.name))
      fail(
        'INLINE_MISSING',
        n.name,
        `processor "${n.name}" is inline but no function was given for it; build it with the TypeScript builder or name a registered type`,
      );
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

interface GlobalNodes {
  /** Names of the global sources and the global-table nodes under them. */
  nodes: Set<string>;
  stores: Set<string>;
  list: GlobalStore[];
}

/**
 * The global stores: each a `global: true` source whose only child is a `global-table`
 * node writing a store declared `global`. Anything else under a global source, or a
 * global-table node elsewhere, is an error naming the node.
 */
function globalNodes(spec: TopologySpec): GlobalNodes {
  const out: GlobalNodes = { nodes: new Set(), stores: new Set(), list: [] };
  for (const src of spec.nodes) {
    if (src.kind !== 'source' || !src.global) continue;
    const children = spec.nodes.filter(
      (n) => n.kind !== 'source' && n.parents.some((p) => parseParent(p).node === src.name),
    );
    if (src.topics.length !== 1)
      fail(
        'GLOBAL_SOURCE_TOPICS',
        src.name,
        `global source "${src.name}" reads ${src.topics.length} topics; a global table reads exactly one`,
      );
    const table = children[0];
    if (children.length !== 1 || table?.kind !== 'processor' || table.type !== 'global-table')
      fail(
        'GLOBAL_SOURCE_CHILDREN',
        src.name,
        `global source "${src.name}" must feed exactly one global-table node (it feeds ${children.map((c) => c.name).join(', ') || 'none'}); read the topic with a plain source for anything else`,
      );
    const store = globalStoreOf(spec, table);
    out.nodes.add(src.name).add(table.name);
    out.stores.add(store);
    out.list.push(globalStore(src, table.name, store, -1 - out.list.length));
  }
  for (const n of spec.nodes)
    if (n.kind === 'processor' && n.type === 'global-table' && !out.nodes.has(n.name))
      fail(
        'GLOBAL_TABLE_PARENT',
        n.name,
        `global-table node "${n.name}" must be the child of a global source (global: true)`,
      );
  return out;
}

function globalStoreOf(spec: TopologySpec, table: ProcessorSpec): string {
  const store = spec.stores.find((s) => table.stores.includes(s.name));
  if (!store?.global)
    fail(
      'GLOBAL_STORE_NOT_GLOBAL',
      table.name,
      `global-table node "${table.name}" writes store "${store?.name ?? table.stores[0]}", which is not declared global; declare it with global: true (and logged: false)`,
    );
  if (store.logged)
    fail(
      'GLOBAL_STORE_LOGGED',
      table.name,
      `global store "${store.name}" is declared logged; a global store is restored from its own topic — declare it logged: false`,
    );
  return store.name;
}

function globalStore(src: SourceSpec, processor: string, store: string, id: number): GlobalStore {
  return {
    store,
    topic: src.topics[0]!,
    source: src,
    processor,
    subtopology: {
      id,
      nodes: [src.name, processor],
      sources: [src],
      sourceTopics: [...src.topics],
      sinks: [],
      stores: [store],
    },
  };
}
