/**
 * Text and pictures of a built topology: `describe()` in the shape of Kafka Streams'
 * TopologyDescription, Mermaid, Graphviz DOT, JSON, and SVG rendered in-process
 * (Graphviz compiled to WebAssembly: no external binary).
 */
import { BuiltTopology } from './build.js';
import { parseParent, type NodeSpec } from './spec.js';

const topicOf = (app: string | undefined, topic: string, internal?: boolean) =>
  internal ? (app ? BuiltTopology.topicName(app, topic, true) : `<app>-${topic}`) : topic;

/**
 * The topology as text, in the layout of Kafka Streams' `TopologyDescription`, followed by
 * its internal topics. `app` (default: the id given to `build()`) names internal topics
 * `<app>-<node>-repartition` and `<app>-<store>-changelog`; without one they read `<app>-…`.
 *
 * ```
 * Topologies:
 *    Sub-topology: 0
 *     Source: clicks (topics: [clicks])
 *       --> by-user
 *     Processor: by-user (stores: [])
 *       --> by-user-sink
 *       <-- clicks
 * ```
 */
export function describe(t: BuiltTopology, app: string | undefined = t.applicationId): string {
  const lines = ['Topologies:'];
  for (const sub of t.subtopologies) {
    lines.push(`   Sub-topology: ${sub.id}`);
    describeNodes(t, sub.nodes, app, lines);
    lines.push('');
  }
  for (const g of t.globals) {
    lines.push(`   Global store: ${g.store} (read in full by every instance; no tasks)`);
    describeNodes(t, g.subtopology.nodes, app, lines);
    lines.push('');
  }
  const internal = t.internalTopics();
  if (internal.length) {
    lines.push('Internal topics:');
    for (const it of internal)
      lines.push(
        `    ${topicOf(app, it.name, true)} (${it.kind}, partitions of sub-topology ${it.subtopology}${Object.entries(
          it.config,
        )
          .map(([k, v]) => `, ${k}=${v}`)
          .join('')})`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

function describeNodes(
  t: BuiltTopology,
  nodes: readonly string[],
  app: string | undefined,
  lines: string[],
): void {
  for (const name of nodes) {
    const n = t.nodesByName.get(name)!;
    const children = t.children.get(name) ?? [];
    if (n.kind === 'source')
      lines.push(
        `    Source: ${n.name} (topics: [${n.topics.map((x) => topicOf(app, x, n.internal)).join(', ')}])`,
      );
    if (n.kind === 'processor')
      lines.push(`    Processor: ${n.name} (stores: [${n.stores.join(', ')}])`);
    if (n.kind === 'sink')
      lines.push(`    Sink: ${n.name} (topic: ${topicOf(app, n.topic, n.internal)})`);
    if (n.kind !== 'sink')
      lines.push(`      --> ${children.length ? children.join(', ') : 'none'}`);
    if (n.kind !== 'source') lines.push(`      <-- ${n.parents.join(', ')}`);
  }
}

/** Sub-topologies and global stores as groups of nodes to draw: an id, a title, the nodes. */
function groups(t: BuiltTopology): Array<{ id: string; title: string; nodes: readonly string[] }> {
  return [
    ...t.subtopologies.map((s) => ({
      id: `${s.id}`,
      title: `Sub-topology ${s.id}`,
      nodes: s.nodes,
    })),
    ...t.globals.map((g, i) => ({
      id: `global_${i}`,
      title: `Global store ${g.store}`,
      nodes: g.subtopology.nodes,
    })),
  ];
}

const id = (s: string) => 'n_' + s.replace(/[^A-Za-z0-9_]/g, '_');
const q = (s: string) => s.replace(/"/g, '\\"');

function label(n: NodeSpec): string {
  if (n.kind === 'processor') return `${n.name}\\n(${n.type})`;
  return n.name;
}

/** An edge label for a named output (`|late|` in Mermaid), empty for the default output. */
function edge(ref: string): { from: string; output?: string } {
  const p = parseParent(ref);
  return { from: id(p.node), output: p.output };
}

/**
 * Mermaid flowchart (`flowchart LR`): one subgraph per sub-topology, processors as boxes,
 * sources and sinks as parallelograms, topics as stadiums (internal ones dashed, orange),
 * stores as cylinders (green), named outputs as edge labels.
 */
export function toMermaid(t: BuiltTopology, app: string | undefined = t.applicationId): string {
  const out = ['flowchart LR'];
  const topics = new Map<string, boolean>();
  for (const sub of groups(t)) {
    out.push(`  subgraph sub${sub.id}["${sub.title}"]`);
    for (const name of sub.nodes) {
      const n = t.nodesByName.get(name)!;
      const text = n.kind === 'processor' ? `${n.name}<br/>${n.type}` : n.name;
      out.push(
        n.kind === 'processor'
          ? `    ${id(name)}["${q(text)}"]`
          : `    ${id(name)}[/"${q(text)}"/]`,
      );
    }
    out.push('  end');
  }
  for (const n of t.spec.nodes) {
    if (n.kind !== 'source')
      for (const p of n.parents) {
        const e = edge(p);
        out.push(`  ${e.from} -->${e.output ? `|${e.output}|` : ''} ${id(n.name)}`);
      }
    if (n.kind === 'source') {
      for (const topic of n.topics) {
        topics.set(topicOf(app, topic, n.internal), !!n.internal);
        out.push(`  ${id('t_' + topicOf(app, topic, n.internal))} --> ${id(n.name)}`);
      }
    }
    if (n.kind === 'sink') {
      topics.set(topicOf(app, n.topic, n.internal), !!n.internal);
      out.push(`  ${id(n.name)} --> ${id('t_' + topicOf(app, n.topic, n.internal))}`);
    }
    if (n.kind === 'processor')
      for (const s of n.stores) out.push(`  ${id(n.name)} <--> ${id('s_' + s)}`);
  }
  for (const [topic, internal] of topics)
    out.push(`  ${id('t_' + topic)}(["${q(topic)}"])${internal ? `:::internal` : ':::topic'}`);
  for (const s of t.spec.stores) out.push(`  ${id('s_' + s.name)}[("${q(s.name)}")]:::store`);
  out.push('  classDef topic fill:#eef6ff,stroke:#3b82f6');
  out.push('  classDef internal fill:#fff7e6,stroke:#d97706,stroke-dasharray: 4 3');
  out.push('  classDef store fill:#f0fdf4,stroke:#16a34a');
  return out.join('\n') + '\n';
}

/**
 * Graphviz DOT: one cluster per sub-topology, processors as rounded boxes, sources and
 * sinks as arrows (`cds`), topics as ovals (internal ones dashed, orange), stores as
 * cylinders (green, marked when changelogged), named outputs as edge labels.
 */
export function toDot(t: BuiltTopology, app: string | undefined = t.applicationId): string {
  const out = [
    'digraph topology {',
    '  rankdir=LR;',
    '  node [fontname="Helvetica", fontsize=11];',
  ];
  const topics = new Map<string, boolean>();
  for (const sub of groups(t)) {
    out.push(
      `  subgraph cluster_${sub.id} {`,
      `    label="${q(sub.title)}"; style=rounded; color="#94a3b8";`,
    );
    for (const name of sub.nodes) {
      const n = t.nodesByName.get(name)!;
      const shape =
        n.kind === 'processor'
          ? 'box, style="rounded,filled", fillcolor="#f8fafc"'
          : 'cds, style=filled, fillcolor="#e2e8f0"';
      out.push(`    ${id(name)} [label="${q(label(n))}", shape=${shape}];`);
    }
    out.push('  }');
  }
  for (const n of t.spec.nodes) {
    if (n.kind !== 'source')
      for (const p of n.parents) {
        const e = edge(p);
        out.push(`  ${e.from} -> ${id(n.name)}${e.output ? ` [label="${q(e.output)}"]` : ''};`);
      }
    if (n.kind === 'source') {
      for (const topic of n.topics) {
        topics.set(topicOf(app, topic, n.internal), !!n.internal);
        out.push(`  ${id('t_' + topicOf(app, topic, n.internal))} -> ${id(n.name)};`);
      }
    }
    if (n.kind === 'sink') {
      topics.set(topicOf(app, n.topic, n.internal), !!n.internal);
      out.push(`  ${id(n.name)} -> ${id('t_' + topicOf(app, n.topic, n.internal))};`);
    }
    if (n.kind === 'processor')
      for (const s of n.stores)
        out.push(`  ${id(n.name)} -> ${id('s_' + s)} [dir=both, style=dotted];`);
  }
  for (const [topic, internal] of topics) {
    out.push(
      `  ${id('t_' + topic)} [label="${q(topic)}", shape=oval, style="${internal ? 'dashed,filled' : 'filled'}", fillcolor="${internal ? '#fff7e6' : '#eef6ff'}"];`,
    );
  }
  for (const s of t.spec.stores)
    out.push(
      `  ${id('s_' + s.name)} [label="${q(s.name)}\\n(${s.global ? 'global ' : ''}${s.kind}${s.logged ? ', changelog' : ''})", shape=cylinder, style=filled, fillcolor="#f0fdf4"];`,
    );
  out.push('}');
  return out.join('\n') + '\n';
}

/**
 * JSON: the spec plus its sub-topologies (ids, nodes, source topics, stores) and internal
 * topics with their names and configs — what `/topology.json` serves.
 */
export function toJson(t: BuiltTopology, app: string | undefined = t.applicationId): string {
  return (
    JSON.stringify(
      {
        ...t.spec,
        subtopologies: t.subtopologies.map((s) => ({
          id: s.id,
          nodes: s.nodes,
          sourceTopics: s.sources.flatMap((x) => x.topics.map((y) => topicOf(app, y, x.internal))),
          stores: s.stores,
        })),
        internalTopics: t.internalTopics().map((i) => ({ ...i, name: topicOf(app, i.name, true) })),
        ...(t.globals.length
          ? {
              globalStores: t.globals.map((g) => ({
                store: g.store,
                topic: g.topic,
                nodes: g.subtopology.nodes,
              })),
            }
          : {}),
      },
      null,
      2,
    ) + '\n'
  );
}

let graphviz: Promise<{ dot(src: string, format?: string): string }> | undefined;

/**
 * SVG of `toDot()`, laid out by Graphviz compiled to WebAssembly (@hpcc-js/wasm-graphviz),
 * in-process: no `dot` binary needed. The first call loads the module (~1 s).
 */
export async function toSvg(
  t: BuiltTopology,
  app: string | undefined = t.applicationId,
): Promise<string> {
  graphviz ??= import('@hpcc-js/wasm-graphviz').then((m) => m.Graphviz.load());
  return (await graphviz).dot(toDot(t, app), 'svg');
}
