/**
 * A topology is plain data: sources, processors and sinks joined by parent names, plus the
 * stores the processors use. It is JSON-serialisable; the builder and YAML files both
 * produce it, and `build()` validates it and splits it into sub-topologies.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface SourceSpec {
  kind: 'source';
  name: string;
  topics: string[];
  keySerde: string;
  valueSerde: string;
  /** A repartition topic written by this topology (named `<app>-<topic>` at run time). */
  internal?: boolean;
  /** Read in full by every instance into a global store (see `TopologyBuilder.globalTable`). */
  global?: boolean;
}

export interface ProcessorSpec {
  kind: 'processor';
  name: string;
  /** A built-in or registered processor type, e.g. `map`, `count`, `vwap`. */
  type: string;
  /** Parent references: a node name, or `node:output` for a named output of that node. */
  parents: string[];
  options: Json;
  /** Names of the stores this processor reads and writes. */
  stores: string[];
  /** The processor's logic is a function given in code (builder lambdas), not in the spec. */
  inline?: boolean;
}

export interface SinkSpec {
  kind: 'sink';
  name: string;
  topic: string;
  /** Parent references, as for processors (`node` or `node:output`). */
  parents: string[];
  keySerde: string;
  valueSerde: string;
  internal?: boolean;
}

export type NodeSpec = SourceSpec | ProcessorSpec | SinkSpec;

export interface StoreSpec {
  name: string;
  kind: 'keyValue' | 'window' | 'session';
  keySerde: string;
  valueSerde: string;
  /** Backed by a changelog topic `<app>-<store>-changelog` (default true). */
  logged: boolean;
  /** Write cache in front of the store (default true). */
  cache: boolean;
  /**
   * A global store: every instance holds all of it, read from its source topic (no
   * changelog); processors of any sub-topology may read it.
   */
  global?: boolean;
  /** Window and session stores: how long windows (sessions) are kept, in ms. */
  retentionMs?: number;
  segmentMs?: number;
  windowSizeMs?: number;
}

export interface TopologySpec {
  version: 1;
  name?: string;
  nodes: NodeSpec[];
  stores: StoreSpec[];
}

/** A parent reference split into the parent's name and (if any) its named output. */
export interface ParentRef {
  node: string;
  output?: string;
}

/**
 * Parses a parent reference: `"validate"` is the default output of `validate`,
 * `"validate:invalid"` its named output `invalid`.
 */
export function parseParent(ref: string): ParentRef {
  const i = ref.indexOf(':');
  return i < 0 ? { node: ref } : { node: ref.slice(0, i), output: ref.slice(i + 1) };
}

/** The reference to `output` of `node` (the default output when `output` is undefined). */
export function parentRef(node: string, output?: string): string {
  return output === undefined ? node : `${node}:${output}`;
}

/** `o` without its undefined fields, as spec options (plain JSON). */
export function compact(o: Record<string, Json | undefined>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
