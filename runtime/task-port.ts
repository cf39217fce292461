/**
 * What the Kafka runtime needs from the Kafka-free task engine (`runtime/task/`), and
 * what the test driver also drives. Keeping this port small lets the engine be tested
 * without a broker and lets another Kafka client replace kafkajs later.
 */
import type { ChangelogRecord, StateStore } from '../state/api.js';
import type { OutgoingRecord } from './producers.js';

/** A consumed record, bytes as they came off the wire. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, Buffer | string | undefined>;
}

/** A store of one task, with the changelog topic it is logged to (if logged). */
export interface TaskStore {
  name: string;
  changelogTopic?: string;
  store: StateStore;
}

/** One task's records and changes since the last commit. */
export interface CommitBatch {
  /** Output, repartition and dead-letter records, serialized. */
  records: OutgoingRecord[];
  /** Changelog records per store (after the stores were flushed). */
  changelogs: Array<{ store: string; topic: string; records: ChangelogRecord[] }>;
}

export interface TaskEngine {
  readonly taskId: string;
  readonly stores: readonly TaskStore[];
  /**
   * Run the processors' `init()`. The stores are open from creation; the runtime restores
   * them first and calls this afterwards, so processors see restored state.
   */
  init(): Promise<void>;
  /** Process one record through the sub-topology (synchronous when every processor is). */
  process(record: RawRecord): void | Promise<void>;
  /** Fire wall-clock punctuations that are due at `now` (epoch ms). */
  punctuateWallClock(now: number): void | Promise<void>;
  /** Flush stores and hand over everything produced since the last call. */
  prepareCommit(): Promise<CommitBatch>;
  /** Close processors and stores (without committing). */
  close(): Promise<void>;
}
