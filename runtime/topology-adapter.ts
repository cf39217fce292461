/**
 * Runs a built topology on the Kafka runtime: names its topics for an application id,
 * opens each task's stores in the configured state directory, and keeps checkpoints.
 */
import {
  readCheckpoint,
  removeCheckpoint,
  taskDir,
  wipeTaskState,
  writeCheckpoint,
  type Serde,
  type StoreMetrics,
} from '../state/index.js';
import type { ProcessorMetrics } from '../processors/api.js';
import { BuiltTopology } from '../topology/index.js';
import type { AppTopology } from './app.js';
import { GlobalTables } from './global-tables.js';
import type { StreamsConfig } from './config.js';
import { createTaskEngine, serdeResolver, type CreateEngineOptions } from './task/create.js';

export interface AdapterOptions {
  /** Serdes by name beyond the built-ins (e.g. Avro ones from the registry). */
  serdes?: Record<string, Serde<unknown>>;
  /** Where processors' counters (duplicates dropped, late records, dead letters …) go, per task. */
  processorMetrics?: (taskId: string, processor: string) => ProcessorMetrics;
  /** Where each task's stores report (cache hits and misses; operation timings if asked for). */
  storeMetrics?: (taskId: string) => StoreMetrics;
}

export function runtimeTopology(built: BuiltTopology, opts: AdapterOptions = {}): AppTopology {
  const serde = serdeResolver(opts.serdes);
  /** The instance's global tables, once started (see runtime/global-tables.ts). */
  let globals: GlobalTables | undefined;
  return {
    startGlobals: async ({ config, log }, kafka) => {
      globals = await GlobalTables.start(built, { config, log, kafka, serde });
      return globals;
    },
    subtopologies: (app) =>
      built.subtopologies.map((s) => ({
        id: s.id,
        sources: s.sources.filter((x) => !x.internal).flatMap((x) => x.topics),
        internalSources: s.sources
          .filter((x) => x.internal)
          .flatMap((x) => x.topics.map((t) => BuiltTopology.topicName(app, t, true))),
      })),
    internalTopics: (app) =>
      built.internalTopics().map((t) => ({
        name: BuiltTopology.topicName(app, t.name, true),
        subtopology: t.subtopology,
        config: t.config,
      })),
    outputTopics: () => [
      ...new Set(
        built.spec.nodes.flatMap((n) => (n.kind === 'sink' && !n.internal ? [n.topic] : [])),
      ),
    ],
    createEngine: (taskId, { config }) =>
      createTaskEngine({
        ...engineOptions(config, opts, taskId),
        taskId,
        topology: built,
        serde,
        ...(globals ? { globalStores: globals.stores } : {}),
      }),
    checkpoint: (taskId, { config }) => {
      const dir = taskDir(config.stateDir, config.applicationId, taskId);
      return {
        read: () => readCheckpoint(dir),
        write: (m) => writeCheckpoint(dir, m),
        remove: () => removeCheckpoint(dir),
        wipe: () => wipeTaskState(dir),
      };
    },
  };
}

/** What every task's engine takes from the config and the adapter's options. */
function engineOptions(
  config: StreamsConfig,
  opts: AdapterOptions,
  taskId: string,
): Omit<CreateEngineOptions, 'taskId' | 'topology' | 'serde'> {
  return {
    applicationId: config.applicationId,
    stateDir: config.stateDir,
    backend: config.storeBackend,
    cacheMaxEntries: config.cacheMaxEntries,
    leveldb: {
      blockCacheBytes: config.leveldbBlockCacheBytes,
      writeBufferBytes: config.leveldbWriteBufferBytes,
    },
    deadLetterTopic: config.deadLetterTopic,
    deserializationErrorHandler: config.deserializationErrorHandler,
    processingErrorHandler: config.processingErrorHandler,
    ...(opts.processorMetrics
      ? { processorMetrics: (p: string) => opts.processorMetrics!(taskId, p) }
      : {}),
    ...(opts.storeMetrics ? { storeMetrics: opts.storeMetrics(taskId) } : {}),
  };
}
