/**
 * The Kafka-free task engine: what the Kafka runtime wraps (one engine per task) and what
 * the test driver runs in-process. Nothing here imports a Kafka client.
 */
export { StreamTaskEngine, type EngineOptions, type ProcessorFactory } from './engine.js';
export {
  createTaskEngine,
  processorFactory,
  serdeResolver,
  type CreateEngineOptions,
  type SerdeResolver,
} from './create.js';
export { RecordProcessingError, type RecordFailureReason } from './errors.js';
export { DLQ_HEADERS } from './dead-letter.js';
export type {
  CommitBatch,
  ConsumedOffset,
  FailureAction,
  OutputRecord,
  RawRecord,
  TaskEngine,
  TaskStore,
} from './types.js';
