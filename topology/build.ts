/**
 * `build()`: validates a spec and freezes it into a topology that knows its
 * sub-topologies, internal topics and stores. Every wiring error surfaces here, named.
 */
import { getDefaultCatalog, type ProcessorCatalog } from './catalog.js';
import { TopologyError } from './errors.js';
import type {
  NodeSpec,
  ProcessorSpec,
  SinkSpec,
  SourceSpec,
  StoreSpec,
  TopologySpec,
} from './spec.js';

export interface Subtopology {
  id: number;
  /** Node names in processing order (parents before children). */
  nodes: string[];
  sources: SourceSpec[];
  sinks: SinkSpec[];
  stores: string[];
}

export interface InternalTopic {
  /** As written in the spec (without the application id). */
  name: string;
  kind: 'repartition' | 'changelog';
  /** The sub-topology whose partition count the topic takes. */
  subtopology: number;
  config: Record<string, string>;
}

export class BuiltTopology {
  readonly nodesByName: ReadonlyMap<string, NodeSpec>;
  readonly children: ReadonlyMap<string, readonly string[]>;

  constructor(
    readonly spec: Readonly<TopologySpec>,
    readonly subtopologies: readonly Subtopology[],
    /** Functions given in code for inline nodes (builder lambdas), by node name. */
    readonly inline: ReadonlyMap<string, unknown>,
  ) {
    this.nodesByName = new Map(spec.nodes.map((n) => [n.name, n]));
    const children = new Map<string, string[]>(spec.nodes.map((n) => [n.name, []]));
    for (const n of spec.nodes)
      if (n.kind !== 'source') for (const p of n.parents) children.get(p)!.push(n.name);
    this.children = children;
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

  internalTopics(): InternalTopic[] {
    const out: InternalTopic[] = [];
    for (const sub of this.subtopologies) {
      for (const src of sub.sources)
        if (src.internal)
          for (const t of src.topics)
            out.push({ name: t, kind: 'repartition', subtopology: sub.id, config: {} });
      for (const s of sub.stores) {
        const spec = this.store(s)!;
        if (!spec.logged) continue;
        const policy = spec.kind === 'window' ? 'compact,delete' : 'compact';
        const config: Record<string, string> = { 'cleanup.policy': policy };
        if (spec.kind === 'window' && spec.retentionMs)
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
    for (const p of n.parents) {
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
    if (n.kind !== 'source') for (const p of n.parents) children.get(p)!.push(n.name);
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

function checkProcessors(spec: TopologySpec, catalog: ProcessorCatalog | undefined): TopologySpec {
  const declared = new Map(spec.stores.map((s) => [s.name, s]));
  const extraStores: StoreSpec[] = [];
  const nodes = spec.nodes.map((n) => {
    if (n.kind !== 'processor') return n;
    const info = catalog?.get(n.type);
    if (catalog && !info && !n.inline) {
      fail(
        'UNKNOWN_PROCESSOR_TYPE',
        n.name,
        `processor "${n.name}" has unknown type "${n.type}"; known types: ${catalog.types().join(', ')} (or register yours with registerProcessor)`,
      );
    }
    let options = n.options;
    if (info) {
      try {
        options = info.validate(n.options, n.name);
      } catch (err) {
        fail('BAD_OPTIONS', n.name, `processor "${n.name}" (${n.type}): ${(err as Error).message}`);
      }
      for (const s of info.stores?.(options, n.name) ?? [])
        if (!declared.has(s.name) && !extraStores.some((x) => x.name === s.name))
          extraStores.push(s);
    }
    for (const s of n.stores) {
      if (!declared.has(s) && !extraStores.some((x) => x.name === s)) {
        fail(
          'STORE_NOT_DECLARED',
          n.name,
          `processor "${n.name}" uses store "${s}" which is not declared; add it to the topology's stores`,
        );
      }
    }
    return { ...n, options } as ProcessorSpec;
  });
  return { ...spec, nodes, stores: [...spec.stores, ...extraStores] };
}

/** Connected components over parent edges; topics do not connect (they join sub-topologies). */
function split(spec: TopologySpec, sorted: string[]): Subtopology[] {
  const parent = new Map<string, string>(spec.nodes.map((n) => [n.name, n.name]));
  const find = (x: string): string => {
    const p = parent.get(x)!;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  for (const n of spec.nodes)
    if (n.kind !== 'source') for (const p of n.parents) parent.set(find(n.name), find(p));
  const groups = new Map<string, string[]>();
  for (const name of sorted)
    (groups.get(find(name)) ?? groups.set(find(name), []).get(find(name))!).push(name);
  const firstIndex = (names: string[]) =>
    Math.min(...names.map((x) => spec.nodes.findIndex((n) => n.name === x)));
  const ordered = [...groups.values()].sort((a, b) => firstIndex(a) - firstIndex(b));
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  const storeOwner = new Map<string, { sub: number; node: string }>();
  return ordered.map((names, id) => {
    const stores = new Set<string>();
    for (const x of names) {
      const n = byName.get(x)!;
      if (n.kind !== 'processor') continue;
      for (const s of n.stores) {
        const owner = storeOwner.get(s);
        if (owner && owner.sub !== id) {
          fail(
            'STORE_SHARED_ACROSS_SUBTOPOLOGIES',
            x,
            `store "${s}" is used by "${owner.node}" (sub-topology ${owner.sub}) and "${x}" (sub-topology ${id}); a store belongs to one sub-topology — give each its own store or join the streams first`,
          );
        }
        storeOwner.set(s, { sub: id, node: x });
        stores.add(s);
      }
    }
    return {
      id,
      nodes: names,
      sources: names.map((x) => byName.get(x)!).filter((n): n is SourceSpec => n.kind === 'source'),
      sinks: names.map((x) => byName.get(x)!).filter((n): n is SinkSpec => n.kind === 'sink'),
      stores: [...stores],
    };
  });
}

/** Validates and freezes `spec`. `catalog` checks processor types and options (default: the built-ins). */
export function buildTopology(
  spec: TopologySpec,
  opts: { catalog?: ProcessorCatalog; inline?: ReadonlyMap<string, unknown> } = {},
): BuiltTopology {
  if (spec.version !== 1)
    fail(
      'BAD_VERSION',
      undefined,
      `topology spec version ${String(spec.version)} is not supported; use version: 1`,
    );
  checkNames(spec);
  checkWiring(spec);
  const sorted = order(spec);
  const checked = checkProcessors(spec, opts.catalog ?? getDefaultCatalog());
  for (const n of checked.nodes) {
    if (n.kind === 'processor' && n.inline && !opts.inline?.has(n.name)) {
      fail(
        'INLINE_MISSING',
        n.name,
        `processor "${n.name}" is inline but no function was given for it; build it with the TypeScript builder or name a registered type`,
      );
    }
  }
  const subs = split(checked, sorted);
  return new BuiltTopology(deepFreeze(checked), subs, opts.inline ?? new Map());
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}
