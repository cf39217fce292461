/**
 * What the Kafka runtime needs from the Kafka-free task engine (`runtime/task/`), and
 * what the test driver also drives. Keeping this port small lets the engine be tested
 * without a broker and lets another Kafka client replace kafkajs later. The types are
 * the engine's own (runtime/task/types.ts).
 */
export type { CommitBatch, RawRecord, TaskEngine, TaskStore } from './task/types.js';
