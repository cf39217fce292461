/**
 * Kafka → warehouse with offsets stored beside the rows. A sink consumes committed
 * topics, turns records into rows, and writes each batch of rows together with the
 * source offsets they came from in ONE warehouse transaction. On start (and whenever it
 * is assigned partitions) it resumes from the offsets stored in the warehouse, not from
 * Kafka's group offsets: a crash at any moment neither loses nor duplicates a row, and
 * replays are harmless because rows are upserted by primary key.
 */
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { ensureTopics } from '../connectors/kafka/topics.js';
import { DEFAULT_FETCH_MAX_BYTES, SINK_MAX_PARTITION_FETCH_BYTES } from './config.js';
import type { Logger } from './log.js';
import { deadLetterRecord } from './task/dead-letter.js';
import type { RawRecord } from './task/types.js';

/** What a warehouse offers a sink (implemented by connectors/duckdb and connectors/snowflake). */
export interface SinkTarget {
  /** Next offset to read per `topic:partition`, as last committed with rows. */
  readOffsets(sinkId: string): Promise<Map<string, number>>;
  /** Upserts the rows and the offsets in one transaction. */
  writeBatch(
    sinkId: string,
    batches: Array<{ table: string; rows: Record<string, unknown>[] }>,
    offsets: Map<string, number>,
  ): Promise<void>;
  /**
   * Why `row` cannot be written to `table` (a value that does not fit its column), or
   * `undefined`. Asked only after a `writeBatch` failed, to dead-letter the rows at fault.
   */
  rowProblem?(table: string, row: Record<string, unknown>): string | undefined;
}

/** A row of a table, from one consumed record. */
export interface MappedRow {
  table: string;
  row: Record<string, unknown>;
}

/**
 * A record that no retry will make readable (not the topic's format, a schema id the
 * registry never issued): dead-lettered with `reason` when the sink has a dead-letter
 * topic, else the sink stops on `error`.
 */
export interface RejectedRecord {
  deadLetter: string;
  error: unknown;
}

/**
 * Turns one consumed record into a row of a table (or `undefined` to skip it). Throwing
 * stops the sink: that is for what a retry may mend (an unreachable registry).
 */
export type RowMapper = (
  record: Omit<RawRecord, 'headers'>,
) => MappedRow | RejectedRecord | undefined | Promise<MappedRow | RejectedRecord | undefined>;

export interface SinkRunnerOptions {
  sinkId: string;
  topics: string[];
  target: SinkTarget;
  map: RowMapper;
  /** Flush when this many rows are buffered (default 5000). */
  maxRows?: number;
  /** Flush when the buffered rows' estimated size reaches this (default 4 MiB). */
  maxBytes?: number;
  /** Flush at least this often while rows are buffered (default 500 ms). */
  maxDelayMs?: number;
  /**
   * Consumer-group session timeout, ms (default 30 000, kafkajs's). A sink that died
   * without leaving the group keeps its partitions this long, so its replacement waits
   * as long; heartbeats stop while a warehouse write runs, so keep it above the slowest write.
   */
  sessionTimeout?: number;
  /**
   * Most bytes one fetch returns, over all partitions (Kafka's `fetch.max.bytes`). A fetch
   * stays in memory until its rows are written. Default 1 MiB, as a streams instance's.
   */
  fetchMaxBytes?: number;
  /** Most bytes one fetch returns per partition (`max.partition.fetch.bytes`). Default 256 KiB. */
  maxPartitionFetchBytes?: number;
  /**
   * Where records the mapper rejects go (their original bytes and headers, plus
   * `millrace.reason`, `millrace.error` and `millrace.source.*`), produced before the batch
   * that holds their offsets is written; a crash in between may send one twice. Without
   * it, the sink stops on such a record.
   */
  deadLetterTopic?: string;
  log: Logger;
  /** Called for each record dead-lettered (`source` is `topic:partition@offset`). */
  onDeadLetter?: (d: { reason: string; source: string }) => void;
  /** Called after each batch is committed in the warehouse. */
  onBatch?: (info: {
    rows: number;
    tables: Record<string, number>;
    /** The rows written, by table. */
    batches: Array<{ table: string; rows: Record<string, unknown>[] }>;
    seconds: number;
    /** Kafka timestamps of the records consumed. */
    oldestTimestamps: number[];
  }) => void;
}

export class SinkRunner {
  private consumer!: Consumer;
  private producer?: Producer;
  private buffer: MappedRow[] = [];
  /** The record each buffered row came from (same index), for a dead letter. */
  private sources: RawRecord[] = [];
  private bytes = 0;
  private offsets = new Map<string, number>();
  private timestamps: number[] = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: SinkRunnerOptions,
  ) {}

  async start(onFatal: (err: unknown) => void): Promise<void> {
    this.consumer = this.kafka.consumer({
      groupId: this.opts.sinkId,
      readUncommitted: false,
      sessionTimeout: this.opts.sessionTimeout ?? 30_000,
      maxBytes: this.opts.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      maxBytesPerPartition: this.opts.maxPartitionFetchBytes ?? SINK_MAX_PARTITION_FETCH_BYTES,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      // Pause until seeked to the warehouse's offsets: Kafka's group offsets are not the truth here.
      const parts = Object.entries(payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions,
      }));
      this.consumer.pause(parts);
      this.serial(() => this.resumeFromWarehouse(parts)).catch(onFatal);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) return onFatal(payload.error);
      // kafkajs rejoins as a new member; while the old one's session lasts (a broker that
      // held the group's coordinator died: up to sessionTimeout) the group holds its
      // partitions and nothing is written.
      this.opts.log.warn(
        'the sink consumer restarts after an error; it resumes once the group assigns its partitions again',
        { sink: this.opts.sinkId, error: payload.error },
      );
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (p) => this.onBatch(p),
    });
    this.timer = setInterval(
      () => void this.serial(() => this.flush()).catch(onFatal),
      this.opts.maxDelayMs ?? 500,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.stop().catch(() => {});
    await this.serial(() => this.flush());
    await this.consumer?.disconnect().catch(() => {});
    await this.producer?.disconnect().catch(() => {});
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async resumeFromWarehouse(
    parts: Array<{ topic: string; partitions: number[] }>,
  ): Promise<void> {
    // Rows buffered for partitions we may have lost must not be written by us any more.
    this.buffer = [];
    this.sources = [];
    this.bytes = 0;
    this.offsets.clear();
    this.timestamps = [];
    const stored = await this.opts.target.readOffsets(this.opts.sinkId);
    for (const { topic, partitions } of parts) {
      for (const partition of partitions) {
        const next = stored.get(`${topic}:${partition}`);
        if (next !== undefined) this.consumer.seek({ topic, partition, offset: String(next) });
      }
    }
    this.opts.log.info('sink resumed from warehouse offsets', {
      sink: this.opts.sinkId,
      offsets: Object.fromEntries(stored),
    });
    this.consumer.resume(parts);
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isStale,
  }: EachBatchPayload): Promise<void> {
    if (!batch.messages.length || this.stopped) return;
    await this.serial(async () => {
      if (isStale()) return;
      let next = -1;
      for (const m of batch.messages) {
        const offset = Number(m.offset);
        const timestamp = Number(m.timestamp);
        const record: RawRecord = {
          topic: batch.topic,
          partition: batch.partition,
          offset,
          key: m.key,
          value: m.value,
          timestamp,
          headers: m.headers as RawRecord['headers'],
        };
        const r = this.opts.map(record);
        // Awaited only when the mapper is asynchronous (a schema to fetch): not per record.
        const mapped = r instanceof Promise ? await r : r;
        if (mapped && 'deadLetter' in mapped) {
          await this.deadLetter(record, mapped);
        } else if (mapped) {
          this.buffer.push(mapped);
          this.sources.push(record);
          this.bytes += (m.value?.length ?? 0) + 64;
        }
        next = offset + 1;
        this.timestamps.push(timestamp);
      }
      if (next >= 0) this.offsets.set(`${batch.topic}:${batch.partition}`, next);
      resolveOffset(batch.lastOffset());
      if (
        this.buffer.length >= (this.opts.maxRows ?? 5000) ||
        this.bytes >= (this.opts.maxBytes ?? 4 << 20)
      )
        await this.flush();
    });
    await heartbeat().catch(() => {});
  }

  private async deadLetter(raw: RawRecord, rejected: RejectedRecord): Promise<void> {
    const topic = this.opts.deadLetterTopic;
    if (!topic) throw rejected.error;
    if (!this.producer) {
      // Created on the first dead letter (one partition, the brokers' replication) when
      // absent: a sink that never meets one needs no topic, nor the admin call at start.
      await ensureTopics(this.kafka, [{ topic, partitions: 1 }]);
      const producer = this.kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
      await producer.connect();
      this.producer = producer;
    }
    const r = deadLetterRecord({
      topic,
      task: this.opts.sinkId,
      processor: 'sink',
      reason: rejected.deadLetter,
      error: rejected.error,
      raw,
      now: Date.now(),
    });
    await this.producer.send({
      topic,
      acks: -1,
      messages: [
        { key: r.key, value: r.value, timestamp: String(r.timestamp), headers: r.headers ?? {} },
      ],
    });
    const source = `${raw.topic}:${raw.partition}@${raw.offset}`;
    this.opts.onDeadLetter?.({ reason: rejected.deadLetter, source });
    this.opts.log.warn('sink dead-lettered a record it cannot read', {
      sink: this.opts.sinkId,
      reason: rejected.deadLetter,
      source,
      deadLetterTopic: topic,
      error: rejected.error,
    });
  }

  /**
   * After a failed write: dead-letters the buffered rows the warehouse says do not fit
   * (`invalid_row`) and keeps the others. False when there is none (or no dead-letter
   * topic): the failure was not the rows'.
   */
  private async deadLetterInvalidRows(): Promise<boolean> {
    const target = this.opts.target;
    if (!this.opts.deadLetterTopic || !target.rowProblem) return false;
    const keep: MappedRow[] = [];
    const keepSources: RawRecord[] = [];
    for (let i = 0; i < this.buffer.length; i++) {
      const b = this.buffer[i]!;
      const problem = target.rowProblem(b.table, b.row);
      if (problem === undefined) {
        keep.push(b);
        keepSources.push(this.sources[i]!);
      } else
        await this.deadLetter(this.sources[i]!, {
          deadLetter: 'invalid_row',
          error: new Error(problem),
        });
    }
    if (keep.length === this.buffer.length) return false;
    this.buffer = keep;
    this.sources = keepSources;
    return true;
  }

  private async flush(): Promise<void> {
    if (!this.offsets.size) return;
    const t0 = performance.now();
    const write = async () => {
      const byTable = new Map<string, Record<string, unknown>[]>();
      for (const { table, row } of this.buffer)
        (byTable.get(table) ?? byTable.set(table, []).get(table)!).push(row);
      const batches = [...byTable].map(([table, rows]) => ({ table, rows }));
      await this.opts.target.writeBatch(this.opts.sinkId, batches, new Map(this.offsets));
      return batches;
    };
    // The offsets cover the dead-lettered records too: written with the rest, they are
    // not read again.
    const batches = await write().catch(async (err: unknown) => {
      if (!(await this.deadLetterInvalidRows())) throw err;
      return write();
    });
    this.opts.onBatch?.({
      rows: this.buffer.length,
      tables: Object.fromEntries(batches.map((b) => [b.table, b.rows.length])),
      batches,
      seconds: (performance.now() - t0) / 1000,
      oldestTimestamps: this.timestamps,
    });
    this.buffer = [];
    this.sources = [];
    this.bytes = 0;
    this.offsets.clear();
    this.timestamps = [];
  }
}
