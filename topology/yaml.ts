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
 *   ...
 * ```
 */
import fs from 'node:fs';
import { parse } from 'yaml';
import { TopologyError } from './errors.js';
import type { Json, NodeSpec, StoreSpec, TopologySpec } from './spec.js';

type Raw = Record<string, any>;

function node(raw: Raw, i: number): NodeSpec {
  const parents = (raw.parents ?? []) as string[];
  if (raw.source !== undefined) {
    return {
      kind: 'source',
      name: String(raw.source),
      topics: toList(raw.topics ?? raw.topic),
      keySerde: raw.keySerde ?? 'string',
      valueSerde: raw.valueSerde ?? 'json',
      ...(raw.internal ? { internal: true } : {}),
    };
  }
  if (raw.processor !== undefined) {
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
      parents,
      options: (raw.options ?? {}) as Json,
      stores: toList(raw.stores),
    };
  }
  if (raw.sink !== undefined) {
    return {
      kind: 'sink',
      name: String(raw.sink),
      topic: String(raw.topic),
      parents,
      keySerde: raw.keySerde ?? 'string',
      valueSerde: raw.valueSerde ?? 'json',
      ...(raw.internal ? { internal: true } : {}),
    };
  }
  throw new TopologyError(
    'NODE_KIND_MISSING',
    `node #${i + 1} is neither a source, a processor nor a sink; start it with "source:", "processor:" or "sink:"`,
  );
}

function toList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

function store(raw: Raw): StoreSpec {
  return {
    name: String(raw.name),
    kind: raw.kind === 'window' ? 'window' : 'keyValue',
    keySerde: raw.keySerde ?? 'string',
    valueSerde: raw.valueSerde ?? 'json',
    logged: raw.logged ?? true,
    cache: raw.cache ?? true,
    ...(raw.retentionMs !== undefined ? { retentionMs: Number(raw.retentionMs) } : {}),
    ...(raw.segmentMs !== undefined ? { segmentMs: Number(raw.segmentMs) } : {}),
    ...(raw.windowSizeMs !== undefined ? { windowSizeMs: Number(raw.windowSizeMs) } : {}),
  };
}

/** Parses YAML/JSON text into a spec (validate it with `buildTopology`). */
export function parseTopology(text: string): TopologySpec {
  const raw = parse(text) as Raw;
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.nodes)) {
    throw new TopologyError(
      'NO_NODES',
      'a topology file needs a "nodes:" list of sources, processors and sinks',
    );
  }
  return {
    version: 1,
    ...(raw.name ? { name: String(raw.name) } : {}),
    nodes: (raw.nodes as Raw[]).map(node),
    stores: ((raw.stores ?? []) as Raw[]).map(store),
  };
}

export function loadTopologyFile(file: string): TopologySpec {
  return parseTopology(fs.readFileSync(file, 'utf8'));
}
