/**
 * millrace — Kafka Streams-style stateful stream processing for Node.js.
 * The public face: topologies, processors, stores, and the Kafka runtime.
 * (`millrace/testing` has the topology test driver.)
 */
import './processors/index.js';

export * from './topology/index.js';
export {
  processorRegistry,
  registerProcessor,
  defineProcessor,
  keyValueStoreSpec,
  windowStoreSpec,
  type ProcessorDefinition,
  type StoreDecl,
  type StoresOf,
} from './processors/registry.js';
export type {
  Processor,
  ProcessorContext,
  StreamRecord,
  Headers,
  RecordMetadata,
  PunctuationType,
  Cancellable,
  ProcessorMetrics,
  ProcessorCounter,
  ProcessingFailureAction,
} from './processors/api.js';
export {
  RecordProcessingError,
  DLQ_HEADERS,
  type FailureAction,
  type RecordFailureReason,
} from './runtime/task/index.js';
export type {
  KeyValueStore,
  WindowStore,
  ReadOnlyKeyValueStore,
  ReadOnlyWindowStore,
  KeyValue,
  WindowedValue,
  WindowedKeyValue,
  Serde,
} from './state/api.js';
export {
  stringSerde,
  jsonSerde,
  bytesSerde,
  int64Serde,
  float64Serde,
  serdeByName,
} from './state/index.js';
export { StreamsApp, type AppState } from './runtime/app.js';
export { resolveConfig, type StreamsConfig, type StreamsConfigInput } from './runtime/config.js';
export { MillraceError, ConfigError, StreamsError, TaskMigratedError } from './runtime/errors.js';
export { closeOnSignals } from './runtime/signals.js';
export {
  QueryClient,
  QueryFailedError,
  partitionForKey,
  serveQueries,
  type QueryServer,
  type QueryClientOptions,
  type ScanOptions,
  type WindowOptions,
  type KeyAnswer,
  type PageAnswer,
  type Entry,
  type WindowEntry,
  type ServedBy,
  type FreshnessAnswer,
  type GroupAnswer,
  type StoreInfo,
  type StorePosition,
  type QueryErrorBody,
} from './runtime/query/index.js';
