/**
 * The nodes a stream's joins append: with a table (`stream-table-join`), with another
 * stream in join windows (two `stream-stream-join` sides sharing their window stores, and
 * a merge), and with a global table (`stream-global-join`).
 */
import type { TopologyBuilder } from './builder.js';
import { TopologyError } from './errors.js';
import type { Serdes } from './serdes.js';
import type { GlobalKTable, KTable } from './table.js';
import type { JoinWindows } from './windows.js';

/** Options of a stream-stream join. */
export interface StreamJoinOptions {
  /** Node name (default `join-<n>`; its sides are `<name>-left` and `<name>-right`). */
  name?: string;
  /** The window stores of the two sides (default `<name>-left-store`, `<name>-right-store`). */
  leftStore?: string;
  rightStore?: string;
  /** Keep changelog topics for both stores (default true). */
  logged?: boolean;
}

/** A stream as a join sees it: where to attach, and its serdes. */
export interface JoinInput {
  ref: string;
  serdes: Serdes;
}

export type StreamJoinKind = 'inner' | 'left' | 'outer';

/** A build error for two inputs of a join whose keys are written with different serdes. */
export function keySerdesDiffer(node: string, a: Serdes, b: Serdes): TopologyError {
  return new TopologyError(
    'JOIN_NOT_COPARTITIONED',
    `join "${node}": the two sides' keys have different serdes (${a.key}, ${b.key}), so equal keys could land in different partitions; give both the same key serde (repartition one side)`,
    node,
  );
}

/** The join node `n` itself: a passthrough that its two sides, `<n>-left` and `<n>-right`, forward to. */
export function addJoinMerge(b: TopologyBuilder, n: string): void {
  b.addNode({
    kind: 'processor',
    name: n,
    type: 'passthrough',
    parents: [`${n}-left`, `${n}-right`],
    options: {},
    stores: [],
  });
}

/** Appends a stream-table join under `input`; returns the join node's name. */
export function addTableJoin<K, V>(
  b: TopologyBuilder,
  input: JoinInput,
  table: KTable<K, V>,
  kind: 'inner' | 'left',
  joiner: unknown,
  name?: string,
): string {
  const n = b.nameFor('join', name);
  if (input.serdes.key !== table.serdes.key)
    b.addProblem(keySerdesDiffer(n, input.serdes, table.serdes));
  const [store, ...rest] = table.stores;
  b.addNode(
    {
      kind: 'processor',
      name: n,
      type: 'stream-table-join',
      parents: [input.ref],
      options: { store: store!, kind, ...(rest.length ? { reads: rest } : {}) },
      stores: [...table.stores],
      inline: true,
    },
    { joiner, lookup: table.lookup() },
  );
  return n;
}

/** Appends a stream-global-table join under `input`; returns the join node's name. */
export function addGlobalJoin<K, V>(
  b: TopologyBuilder,
  input: JoinInput,
  table: GlobalKTable<K, V>,
  kind: 'inner' | 'left',
  fns: { keyOf: unknown; joiner: unknown },
  name?: string,
): string {
  const n = b.nameFor('global-join', name);
  b.addNode(
    {
      kind: 'processor',
      name: n,
      type: 'stream-global-join',
      parents: [input.ref],
      options: { store: table.storeName, kind },
      stores: [table.storeName],
      inline: true,
    },
    fns,
  );
  return n;
}

/**
 * Appends a stream-stream join: a side node under each stream, both with both window
 * stores, and a merge named `name`; returns that name.
 */
export function addStreamJoin(
  b: TopologyBuilder,
  sides: { left: JoinInput; right: JoinInput },
  kind: StreamJoinKind,
  windows: JoinWindows,
  joiner: unknown,
  o: StreamJoinOptions = {},
): string {
  const n = b.nameFor('join', o.name);
  const { left, right } = sides;
  if (left.serdes.key !== right.serdes.key)
    b.addProblem(keySerdesDiffer(n, left.serdes, right.serdes));
  const { beforeMs, afterMs, graceMs } = windows;
  const stores = {
    left: o.leftStore ?? `${n}-left-store`,
    right: o.rightStore ?? `${n}-right-store`,
  };
  for (const s of [stores.left, stores.right])
    b.addStore({
      name: s,
      kind: 'window',
      keySerde: left.serdes.key,
      valueSerde: 'json',
      logged: o.logged ?? true,
      cache: true,
      retentionMs: beforeMs + afterMs + graceMs + 1,
    });
  for (const side of ['left', 'right'] as const) {
    const [thisStore, otherStore] =
      side === 'left' ? [stores.left, stores.right] : [stores.right, stores.left];
    b.addNode(
      {
        kind: 'processor',
        name: `${n}-${side}`,
        type: 'stream-stream-join',
        parents: [sides[side].ref],
        options: { side, kind, beforeMs, afterMs, graceMs, thisStore, otherStore },
        stores: [stores.left, stores.right],
        inline: true,
      },
      joiner,
    );
  }
  addJoinMerge(b, n);
  return n;
}
