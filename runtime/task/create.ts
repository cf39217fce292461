/**
 * Creates a task's engine from a built topology: opens the sub-topology's stores through
 * the state factory (LevelDB or memory) and wires processors from the topology's own
 * definitions and the registry. Shared by the Kafka runtime and the test driver, so both
 * run the same code.
 */
import type { ProcessorMetrics } from '../../processors/api.js';
import { processorRegistry } from '../../processors/index.js';
import { storeRoles, type ProcessorDefinition } from '../../processors/registry.js';
import {
  openKeyValueStore,
  openSessionStore,
  openWindowStore,
  serdeByName,
  type Serde,
  type StateStore,
  type StoreContext,
  type StoreMetrics,
  type LevelDbMemory,
} from '../../state/index.js';
import type { BuiltTopology, Subtopology } from '../../topology/index.js';
import { parseTaskId } from '../assignment.js';
import { MillraceError } from '../errors.js';
import { StreamTaskEngine, type ProcessorFactory } from './engine.js';
import type { FailureAction } from './types.js';

/** Serde by name. */
export type SerdeResolver = (name: string) => Serde<unknown>;

/** Built-in serdes (`string`, `json`, `bytes`, `int64`, `float64`), then the extra ones given (e.g. Avro). */
export function serdeResolver(extra: Record<string, Serde<unknown>> = {}): SerdeResolver {
  return (name) => extra[name] ?? serdeByName(name);
}

export interface CreateEngineOptions {
  applicationId: string;
  /** `<subtopology>_<partition>`, e.g. `0_3`. */
  taskId: string;
  topology: BuiltTopology;
  serde: SerdeResolver;
  /** Root of the state directory (LevelDB stores live under `<stateDir>/<app>/<task>/`). */
  stateDir: string;
  backend: 'leveldb' | 'memory';
  deadLetterTopic: string;
  deserializationErrorHandler: FailureAction;
  processingErrorHandler: FailureAction;
  /** Wall clock (epoch ms); default `Date.now`. */
  now?: () => number;
  storeMetrics?: StoreMetrics;
  processorMetrics?: (processor: string) => ProcessorMetrics;
  /** Most entries each store's write cache holds (default: the state layer's). */
  cacheMaxEntries?: number;
  /** Block cache and write buffer of each LevelDB store (default: the state layer's). */
  leveldb?: LevelDbMemory;
  /** The instance's global stores, for processors that read them (see runtime/global-tables.ts). */
  globalStores?: ReadonlyMap<string, StateStore>;
  /** Run this sub-topology instead of the one the task id names (a global store's). */
  subtopology?: Subtopology;
}

/** The processor factory for `topology`: its own definitions first, then the registry. */
export function processorFactory(topology: BuiltTopology): ProcessorFactory {
  const def = (type: string, node: string): ProcessorDefinition => {
    const d =
      (topology.definitions.get(type) as ProcessorDefinition | undefined) ??
      processorRegistry.definition(type);
    if (!d)
      throw new MillraceError(
        `processor "${node}" has unknown type "${type}"; register it with registerProcessor before creating tasks`,
        { code: 'UNKNOWN_PROCESSOR_TYPE', domain: 'user' },
      );
    return d;
  };
  return {
    create: (type, options, inline, node) => def(type, node).create(options, inline),
    storeRoles: (type, options, node) => storeRoles(def(type, node), options, node),
    outputs: (type, options) => {
      const o = def(type, type).outputs;
      return typeof o === 'function' ? o(options) : (o ?? []);
    },
  };
}

const OPEN = {
  keyValue: openKeyValueStore,
  window: openWindowStore,
  session: openSessionStore,
} as const;

async function openStores(
  o: CreateEngineOptions,
  sub: Subtopology,
  ctx: StoreContext,
): Promise<Map<string, StateStore>> {
  const stores = new Map<string, StateStore>();
  for (const name of sub.stores) {
    const spec = o.topology.store(name)!;
    const opts = {
      name,
      kind: spec.kind,
      keySerde: o.serde(spec.keySerde),
      valueSerde: o.serde(spec.valueSerde),
      logged: spec.logged,
      cache: spec.cache,
      retentionMs: spec.retentionMs,
      segmentMs: spec.segmentMs,
      windowSizeMs: spec.windowSizeMs,
    };
    try {
      stores.set(name, await OPEN[spec.kind](opts, ctx));
    } catch (err) {
      for (const s of stores.values()) await s.close().catch(() => {});
      throw err;
    }
  }
  return stores;
}

function subtopologyOf(topology: BuiltTopology, taskId: string): Subtopology {
  const { subtopology } = parseTaskId(taskId);
  const sub = topology.subtopologies[subtopology];
  if (!sub)
    throw new MillraceError(
      `task ${taskId}: the topology has no sub-topology ${subtopology} (it has ${topology.subtopologies.length})`,
      { code: 'UNKNOWN_SUBTOPOLOGY', domain: 'internal' },
    );
  return sub;
}

/**
 * Opens the stores of task `taskId`'s sub-topology and wires its processors. The
 * processors' `init()` runs later, in `engine.init()`, after the runtime restored the
 * stores.
 */
export async function createTaskEngine(o: CreateEngineOptions): Promise<StreamTaskEngine> {
  const sub = o.subtopology ?? subtopologyOf(o.topology, o.taskId);
  const holder: { engine?: StreamTaskEngine } = {};
  const stores = await openStores(o, sub, {
    applicationId: o.applicationId,
    taskId: o.taskId,
    stateDir: o.stateDir,
    backend: o.backend,
    metrics: o.storeMetrics,
    cacheMaxEntries: o.cacheMaxEntries,
    ...(o.leveldb ? { leveldb: o.leveldb } : {}),
    currentTimestamp: () => holder.engine?.currentTimestamp() ?? Date.now(),
  });
  try {
    holder.engine = new StreamTaskEngine({
      applicationId: o.applicationId,
      taskId: o.taskId,
      topology: o.topology,
      subtopology: sub,
      serde: o.serde,
      stores,
      ...(o.globalStores ? { globalStores: o.globalStores } : {}),
      deadLetterTopic: o.deadLetterTopic,
      deserializationErrorHandler: o.deserializationErrorHandler,
      processingErrorHandler: o.processingErrorHandler,
      now: o.now,
      metrics: o.processorMetrics,
      processors: processorFactory(o.topology),
    });
  } catch (err) {
    for (const s of stores.values()) await s.close().catch(() => {});
    throw err;
  }
  return holder.engine;
}
