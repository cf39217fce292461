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
  builtInSerdeNames,
  type Serde,
  type StoreMetrics,
} from '../state/index.js';
import { ConfigError } from './errors.js';
import type { ProcessorMetrics } from '../processors/api.js';
import { BuiltTopology } from '../topology/index.js';
import type { AppTopology } from './app.js';
import { GlobalTables } from './global-tables.js';
import type { StreamsConfig } from './config.js';
import {
  createTaskEngine,
  serdeResolver,
  type CreateEngineOptions,
  type SerdeResolver,
} from './task/create.js';

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
    check: () => checkSerdes(built, serde, Object.keys(opts.serdes ?? {})),
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

/**
 * Every serde the topology names (its sources', sinks' and stores' keySerde and
 * valueSerde) resolves, or a ConfigError lists each that does not, with where it is named:
 * checked before the instance connects, instead of failing its first task after it joined.
 */
export function checkSerdes(
  built: BuiltTopology,
  serde: SerdeResolver,
  extra: string[] = [],
): void {
  const named: Array<{ where: string; field: string; name: string }> = [];
  for (const n of built.spec.nodes)
    if (n.kind !== 'processor')
      for (const field of ['keySerde', 'valueSerde'] as const)
        named.push({ where: `${n.kind} "${n.name}"`, field, name: n[field] });
  for (const st of built.spec.stores)
    for (const field of ['keySerde', 'valueSerde'] as const)
      named.push({ where: `store "${st.name}"`, field, name: st[field] });
  const unknown = new Set<string>();
  const bad = named.filter(({ name }) => {
    if (unknown.has(name)) return true;
    try {
      serde(name);
      return false;
    } catch {
      unknown.add(name);
      return true;
    }
  });
  if (!bad.length) return;
  throw new ConfigError(
    `unknown serde${bad.length > 1 ? 's' : ''}: ${bad.map((b) => `${b.where} has ${b.field} "${b.name}"`).join('; ')}. ` +
      `Known: ${[...new Set([...builtInSerdeNames(), ...extra])].join(', ')}; fix the name, or register the serde before the app starts ` +
      `(registerSerde, or an app module's serdes export for serdes such as Avro)`,
  );
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
