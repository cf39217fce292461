/**
 * Topologies written as YAML (or JSON) files. The file names built-in or registered
 * processor types with their options; the result is the same spec the builder gives.
 *
 * ```yaml
 * name: clicks-per-user
 * stores:
 *   - { name: counts, kind: keyValue, keySerde: string, valueSerde: int64 }
 * nodes:
 *   - { source: clicks, topics: [clicks], keySerde: string, valueSerde: json }
 *   - { processor: by-user, type: select-key-field, parents: [clicks], options: { field: user } }
 *   - { repartition: by-user, parents: [by-user], keySerde: string, valueSerde: json }
 *   - { processor: count, type: count, parents: [by-user-source], options: { store: counts }, stores: [counts] }
 *   - { sink: out, topic: counts, parents: [count], keySerde: string, valueSerde: int64 }
 * ```
 *
 * `repartition: X` is shorthand for the sink `X-sink` writing the internal topic
 * `X-repartition` and the source `X-source` reading it (what the builder inserts).
 * A parent written `node:output` reads a named output of `node` (e.g. `window:late`).
 */
import fs from 'node:fs';
import { parse } from 'yaml';
import { TopologyError } from './errors.js';
import type { Json, NodeSpec, StoreSpec, TopologySpec } from './spec.js';

type Raw = Record<string, unknown>;

const KEYS: Record<string, string[]> = {
  source: ['source', 'topics', 'topic', 'keySerde', 'valueSerde', 'internal', 'global'],
  processor: ['processor', 'type', 'parents', 'options', 'stores'],
  sink: ['sink', 'topic', 'parents', 'keySerde', 'valueSerde', 'internal'],
  repartition: ['repartition', 'parents', 'keySerde', 'valueSerde'],
  store: [
    'name',
    'kind',
    'keySerde',
    'valueSerde',
    'logged',
    'cache',
    'retentionMs',
    'segmentMs',
    'windowSizeMs',
    'global',
  ],
};

function checkKeys(raw: Raw, kind: string, name: string): void {
  const unknown = Object.keys(raw).filter((k) => !KEYS[kind]!.includes(k));
  if (unknown.length)
    throw new TopologyError(
      'UNKNOWN_FIELD',
      `${kind} "${name}" has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; a ${kind} takes ${KEYS[kind]!.join(', ')}`,
      name,
    );
}

function toList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

const serdes = (raw: Raw) => ({
  keySerde: String(raw.keySerde ?? 'string'),
  valueSerde: String(raw.valueSerde ?? 'json'),
});

function source(raw: Raw): NodeSpec {
  return {
    kind: 'source',
    name: String(raw.source),
    topics: toList(raw.topics ?? raw.topic),
    ...serdes(raw),
    ...(raw.internal ? { internal: true } : {}),
    ...(raw.global ? { global: true } : {}),
  };
}

function processor(raw: Raw): NodeSpec {
  if (!raw.type)
    throw new TopologyError(
      'TYPE_MISSING',
      `processor "${raw.processor}" has no type; name a built-in or registered processor type`,
      String(raw.processor),
    );
  return {
    kind: 'processor',
    name: String(raw.processor),
    type: String(raw.type),
    parents: toList(raw.parents),
    options: (raw.options ?? {}) as Json,
    stores: toList(raw.stores),
  };
}

function sink(raw: Raw): NodeSpec {
  return {
    kind: 'sink',
    name: String(raw.sink),
    topic: String(raw.topic),
    parents: toList(raw.parents),
    ...serdes(raw),
    ...(raw.internal ? { internal: true } : {}),
  };
}

function repartition(raw: Raw): NodeSpec[] {
  const base = String(raw.repartition);
  const topic = `${base}-repartition`;
  const s = serdes(raw);
  return [
    {
      kind: 'sink',
      name: `${base}-sink`,
      topic,
      parents: toList(raw.parents),
      ...s,
      internal: true,
    },
    { kind: 'source', name: `${base}-source`, topics: [topic], ...s, internal: true },
  ];
}

const KINDS = { source, processor, sink, repartition } as const;

function nodes(raw: Raw, i: number): NodeSpec[] {
  for (const [kind, make] of Object.entries(KINDS)) {
    if (raw[kind] === undefined) continue;
    checkKeys(raw, kind, String(raw[kind]));
    const made = make(raw);
    return Array.isArray(made) ? made : [made];
  }
  throw new TopologyError(
    'NODE_KIND_MISSING',
    `node #${i + 1} is neither a source, a processor, a sink nor a repartition; start it with "source:", "processor:", "sink:" or "repartition:"`,
  );
}

const STORE_KINDS = ['keyValue', 'window', 'session'] as const;

function storeKind(raw: Raw): StoreSpec['kind'] {
  const k = raw.kind ?? 'keyValue';
  if (STORE_KINDS.includes(k as StoreSpec['kind'])) return k as StoreSpec['kind'];
  throw new TopologyError(
    'BAD_FIELD',
    `store "${String(raw.name)}": kind must be one of ${STORE_KINDS.join(', ')}, got ${JSON.stringify(k)}`,
    String(raw.name),
  );
}

/** A boolean field of a store (default `dflt`); anything else is an error naming the field. */
function flag(raw: Raw, field: string, dflt: boolean): boolean {
  const v = raw[field];
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  throw new TopologyError(
    'BAD_FIELD',
    `store "${String(raw.name)}": ${field} must be true or false, got ${JSON.stringify(v)}`,
    String(raw.name),
  );
}

function store(raw: Raw): StoreSpec {
  checkKeys(raw, 'store', String(raw.name));
  return {
    name: String(raw.name),
    kind: storeKind(raw),
    ...serdes(raw),
    logged: flag(raw, 'logged', true),
    cache: flag(raw, 'cache', true),
    ...(raw.retentionMs !== undefined ? { retentionMs: Number(raw.retentionMs) } : {}),
    ...(raw.segmentMs !== undefined ? { segmentMs: Number(raw.segmentMs) } : {}),
    ...(raw.windowSizeMs !== undefined ? { windowSizeMs: Number(raw.windowSizeMs) } : {}),
    ...(flag(raw, 'global', false) ? { global: true } : {}),
  };
}

/**
 * Parses YAML (or JSON, a subset of YAML) text into a spec; validate it with
 * `buildTopology(spec)`. Throws a `TopologyError` naming the node for malformed nodes.
 */
export function parseTopology(text: string): TopologySpec {
  let raw: Raw;
  try {
    raw = parse(text) as Raw;
  } catch (err) {
    throw new TopologyError(
      'YAML_SYNTAX',
      `the topology file is not valid YAML: ${(err as Error).message.split('\n')[0]}; fix the line it names`,
    );
  }
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.nodes)) {
    throw new TopologyError(
      'NO_NODES',
      'a topology file needs a "nodes:" list of sources, processors and sinks',
    );
  }
  return {
    version: 1,
    ...(raw.name ? { name: String(raw.name) } : {}),
    nodes: (raw.nodes as Raw[]).flatMap(nodes),
    stores: ((raw.stores ?? []) as Raw[]).map(store),
  };
}

/** Reads and parses a topology file (`.yaml`, `.yml` or `.json`). */
export function loadTopologyFile(file: string): TopologySpec {
  return parseTopology(fs.readFileSync(file, 'utf8'));
}
