/**
 * The records and batches that cross the task engine's boundary. No Kafka types here:
 * the Kafka runtime converts its client's messages to `RawRecord` and sends what
 * `prepareCommit()` returns; the test driver does the same in memory.
 */
import type { ChangelogRecord, StateStore } from '../../state/api.js';

/** A consumed record, bytes as they came off the wire. `timestamp` is epoch ms. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, Buffer | string | undefined>;
}

/** A record to produce: an output, a repartition record or a dead letter, serialized. */
export interface OutputRecord {
  topic: string;
  /** Explicit partition; absent means the producer's partitioner picks it by key. */
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Record<string, string | Buffer>;
}

/** The next offset to consume of one input partition (Kafka's committed-offset convention). */
export interface ConsumedOffset {
  topic: string;
  partition: number;
  offset: number;
  /** Committed with the offset: the task's stream time (see runtime/offset-metadata.ts). */
  metadata?: string | null;
}

/** A store of one task, with the changelog topic it is logged to (if logged). */
export interface TaskStore {
  name: string;
  changelogTopic?: string;
  store: StateStore;
}

/** One task's results since the last commit, for the runtime to send in one go. */
export interface CommitBatch {
  /** Output, repartition and dead-letter records, serialized, in production order. */
  records: OutputRecord[];
  /** Changelog records per logged store (after the stores were flushed). */
  changelogs: Array<{ store: string; topic: string; records: ChangelogRecord[] }>;
  /** Next offset to consume per input partition processed since the last commit. */
  offsets: ConsumedOffset[];
}

/**
 * What to do with a record that could not be deserialized or whose processing threw:
 * `continue` counts and skips it, `fail` throws a `RecordProcessingError` (the task
 * stops), `dead-letter` sends the original bytes to the dead-letter topic with headers
 * saying why, and counts it.
 */
export type FailureAction = 'continue' | 'fail' | 'dead-letter';

/** The engine as the runtime drives it (see `StreamTaskEngine`). */
export interface TaskEngine {
  readonly taskId: string;
  readonly stores: readonly TaskStore[];
  init(): Promise<void>;
  process(record: RawRecord): void | Promise<void>;
  punctuateWallClock(now: number): void | Promise<void>;
  prepareCommit(): Promise<CommitBatch>;
  /**
   * The task has read `topic:partition` up to `next`, past offsets that hold no record for
   * it (transaction markers, aborted records): its next commit's offset is at least `next`.
   */
  consumedUpTo?(topic: string, partition: number, next: number): void;
  /** Records produced since the last take or commit, not yet handed over. */
  readonly pendingOutputs?: number;
  /**
   * Hands over the records produced so far, without flushing stores: what the next commit
   * would send, taken early (the runtime sends them into the open transaction ahead of
   * its commit). The commit then holds only what came after.
   */
  takeOutputs?(): OutputRecord[];
  /** Starts the task's stream time at the one committed with its offsets (never moves it back). */
  resumeStreamTime?(streamTime: number): void;
  close(): Promise<void>;
}
