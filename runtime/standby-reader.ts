/**
 * Reads the changelog partitions of an instance's standby tasks, continuously and
 * read_committed (only records of committed transactions reach a standby's stores), and
 * hands each partition's records to its standby in order.
 *
 * kafkajs has no group-less `assign()`: the reader is a consumer alone in a throw-away
 * group of its own, subscribed to the changelog topics, which gets every partition of them
 * and pauses those no standby wants. A partition is positioned with `seek` only while no
 * fetch of it can be in flight: when the group is joined (before the first fetch) or while
 * it is paused, resumed after the seek (a seek racing a fetch of the same partition was seen
 * to skip records: runtime/restore.ts). When the standbys need a topic the consumer is not
 * subscribed to, it is replaced by one that is.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from './log.js';
import type { RestoreRecordOut } from './restore.js';

const tp = (topic: string, partition: number) => `${topic}:${partition}`;

/** Where the reader's records go (the standby manager). */
export interface StandbySink {
  /** Next offset to read of a wanted partition; undefined when no standby wants it. */
  position(topic: string, partition: number): number | undefined;
  /** Records of one partition at or past its position, in offset order. */
  apply(topic: string, partition: number, records: RestoreRecordOut[]): Promise<void>;
  /**
   * A fetch ended: `next` (when the batch held records, markers included) is the offset to
   * read next; `end` the partition's high watermark then.
   */
  fetched(topic: string, partition: number, next: number | undefined, end: number): void;
}

export interface StandbyReaderOptions {
  fetchMaxBytes: number;
  log: Logger;
}

export class StandbyReader {
  private consumer?: Consumer;
  private groupId?: string;
  private topics = new Set<string>();
  /** Partitions the consumer was given (every partition of its topics). */
  private assigned: Array<{ topic: string; partition: number }> = [];
  private wanted = new Set<string>();
  private paused = new Set<string>();
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly applicationId: string,
    private readonly sink: StandbySink,
    private readonly opts: StandbyReaderOptions,
  ) {}

  /** Reads exactly `partitions` from now on (each from the sink's position). */
  async update(partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    if (this.closed) return;
    this.wanted = new Set(partitions.map((p) => tp(p.topic, p.partition)));
    const topics = new Set(partitions.map((p) => p.topic));
    if (!topics.size) return this.stopConsumer();
    if (!this.consumer || [...topics].some((t) => !this.topics.has(t))) {
      await this.stopConsumer();
      return this.startConsumer(topics);
    }
    this.position();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopConsumer();
  }

  /** Pauses what is not wanted; seeks and resumes what is wanted and paused. */
  private position(): void {
    const c = this.consumer;
    if (!c) return;
    for (const p of this.assigned) {
      const k = tp(p.topic, p.partition);
      if (!this.wanted.has(k)) {
        if (!this.paused.has(k)) c.pause([{ topic: p.topic, partitions: [p.partition] }]);
        this.paused.add(k);
      } else if (this.paused.has(k)) {
        c.seek({ ...p, offset: String(this.sink.position(p.topic, p.partition) ?? 0) });
        c.resume([{ topic: p.topic, partitions: [p.partition] }]);
        this.paused.delete(k);
      }
    }
  }

  private async startConsumer(topics: Set<string>): Promise<void> {
    this.topics = topics;
    this.groupId = `${this.applicationId}-standby-${randomUUID()}`;
    const bytes = this.opts.fetchMaxBytes;
    const c = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxBytes: bytes,
      maxBytesPerPartition: bytes,
      maxWaitTimeInMs: 200,
      sessionTimeout: 10_000,
      allowAutoTopicCreation: false,
    });
    this.consumer = c;
    c.on(c.events.GROUP_JOIN, ({ payload }) => this.onJoin(payload.memberAssignment));
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) =>
      this.sink.fetched(
        payload.topic,
        payload.partition,
        payload.firstOffset !== null ? Number(payload.lastOffset) + 1 : undefined,
        Number(payload.highWatermark),
      ),
    );
    c.on(c.events.CRASH, ({ payload }) => {
      if (payload.restart) return; // kafkajs rejoins; onJoin positions everything again
      this.opts.log.warn('standby reader stopped after an error; starting a new one', {
        error: payload.error,
      });
      void this.restart(c);
    });
    await c.connect();
    await c.subscribe({ topics: [...topics], fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: (p) => this.onBatch(p),
    });
  }

  /** After a join (the first, or kafkajs's own after a restart): every partition positioned. */
  private onJoin(assignment: Record<string, number[]>): void {
    const c = this.consumer!;
    this.assigned = Object.entries(assignment).flatMap(([topic, ps]) =>
      ps.map((partition) => ({ topic, partition })),
    );
    this.paused.clear();
    for (const p of this.assigned) {
      const k = tp(p.topic, p.partition);
      if (this.wanted.has(k))
        c.seek({ ...p, offset: String(this.sink.position(p.topic, p.partition) ?? 0) });
      else {
        c.pause([{ topic: p.topic, partitions: [p.partition] }]);
        this.paused.add(k);
      }
    }
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    const position = this.sink.position(batch.topic, batch.partition);
    if (position === undefined || !this.wanted.has(tp(batch.topic, batch.partition))) return;
    const records: RestoreRecordOut[] = [];
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset < position || !m.key) continue;
      records.push({ key: m.key, value: m.value, timestamp: Number(m.timestamp), offset });
    }
    if (records.length) await this.sink.apply(batch.topic, batch.partition, records);
  }

  private async restart(crashed: Consumer): Promise<void> {
    if (this.consumer !== crashed || this.closed) return;
    await this.stopConsumer();
    await new Promise((r) => setTimeout(r, 1000));
    if (this.closed || this.consumer) return;
    const topics = new Set([...this.wanted].map((k) => k.slice(0, k.lastIndexOf(':'))));
    if (topics.size)
      await this.startConsumer(topics).catch((err: unknown) =>
        this.opts.log.warn('standby reader could not start; standbys wait for the next rebalance', {
          error: err,
        }),
      );
  }

  private async stopConsumer(): Promise<void> {
    const c = this.consumer;
    const groupId = this.groupId;
    this.consumer = undefined;
    this.assigned = [];
    this.paused.clear();
    this.topics = new Set();
    if (!c) return;
    await c.disconnect().catch(() => {});
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([groupId!]);
    } catch {
      /* the group expires by itself */
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}
