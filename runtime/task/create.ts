/**
 * Creates a task's engine from a built topology: opens the sub-topology's stores (LevelDB
 * or memory) and wires processors from the registry. Shared by the Kafka runtime and the
 * test driver, so both run the same code.
 */
import { processorRegistry } from '../../processors/index.js';
import {
  openKeyValueStore,
  openWindowStore,
  serdeByName,
  type Serde,
  type StateStore,
  type StoreMetrics,
} from '../../state/index.js';
import type { BuiltTopology } from '../../topology/index.js';
import { parseTaskId } from '../assignment.js';
import { StreamTaskEngine, type FailureAction } from './engine.js';
import type { ProcessorMetrics } from '../../processors/api.js';

export type SerdeResolver = (name: string) => Serde<any>;

/** Built-in serdes, then the extra ones given (e.g. Avro serdes from the registry). */
export function serdeResolver(extra: Record<string, Serde<any>> = {}): SerdeResolver {
  return (name) => extra[name] ?? serdeByName(name);
}

export interface CreateEngineOptions {
  applicationId: string;
  taskId: string;
  topology: BuiltTopology;
  serde: SerdeResolver;
  stateDir: string;
  backend: 'leveldb' | 'memory';
  deadLetterTopic: string;
  deserializationErrorHandler: FailureAction;
  processingErrorHandler: FailureAction;
  now?: () => number;
  storeMetrics?: StoreMetrics;
  processorMetrics?: (processor: string) => ProcessorMetrics;
  cacheMaxEntries?: number;
}

export async function createTaskEngine(o: CreateEngineOptions): Promise<StreamTaskEngine> {
  const sub = o.topology.subtopologies[parseTaskId(o.taskId).subtopology];
  if (!sub)
    throw new Error(
      `task ${o.taskId}: the topology has no sub-topology ${parseTaskId(o.taskId).subtopology}`,
    );
  const stores = new Map<string, StateStore>();
  const holder: { engine?: StreamTaskEngine } = {};
  const ctx = {
    applicationId: o.applicationId,
    taskId: o.taskId,
    stateDir: o.stateDir,
    backend: o.backend,
    metrics: o.storeMetrics,
    cacheMaxEntries: o.cacheMaxEntries,
    currentTimestamp: () => holder.engine?.currentTimestamp() ?? Date.now(),
  };
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
    stores.set(
      name,
      spec.kind === 'window'
        ? await openWindowStore(opts, ctx)
        : await openKeyValueStore(opts, ctx),
    );
  }
  const engine = new StreamTaskEngine({
    applicationId: o.applicationId,
    taskId: o.taskId,
    topology: o.topology,
    subtopology: sub,
    serde: o.serde,
    stores,
    deadLetterTopic: o.deadLetterTopic,
    deserializationErrorHandler: o.deserializationErrorHandler,
    processingErrorHandler: o.processingErrorHandler,
    now: o.now,
    metrics: o.processorMetrics,
    processors: {
      create: (type, options, inline, node) => {
        const def = processorRegistry.definition(type);
        if (!def) throw new Error(`processor "${node}" has unknown type "${type}"`);
        return def.create(options, inline);
      },
    },
  });
  holder.engine = engine;
  return engine;
}
