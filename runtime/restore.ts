/**
 * Reads changelog partitions from a checkpoint to their end and hands the records to
 * the stores in bulk. kafkajs has no group-less `assign()`, so each restore episode uses
 * a consumer in a throw-away group of its own (deleted afterwards) and pauses the
 * partitions it does not need. It reads from the earliest offset and skips records
 * before the checkpoint: a kafkajs `seek()` issued while the first fetch is in flight
 * was seen to make the consumer skip records or finish early, so no seek is used.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { MillraceError } from './errors.js';

export interface RestoreRecordOut {
  key: Buffer;
  value: Buffer | null;
  timestamp: number;
  offset: number;
}

export interface RestoreTarget {
  topic: string;
  partition: number;
  /** First offset to read (the checkpoint, or 0). */
  fromOffset: number;
  /** Stop here (exclusive): the partition's end when the restore began. */
  endOffset: number;
  apply(records: RestoreRecordOut[]): Promise<void>;
}

export interface RestoreProgress {
  topic: string;
  partition: number;
  restored: number;
  remaining: number;
}

const key = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * The end offset of each partition of `topics` as a read_committed reader sees it: the last
 * stable offset (before the first transaction still open or whose markers are not written
 * yet); the topics asked at once. For lags and progress; a restore reads to
 * {@link logEndOffsets}.
 */
export function endOffsets(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  return ends(admin, topics, false);
}

/**
 * The log end (high watermark) of each partition of `topics`, records of transactions not
 * yet resolved included: where a restore must read to. The coordinator writes a committed
 * transaction's markers after EndTxn has answered, partition by partition; until the marker
 * reaches a changelog partition its last stable offset stays before that transaction's
 * records, while the offsets committed in the same transaction may already be readable
 * (their marker is on another partition). A restore that stopped at the last stable offset
 * then resumed the task past inputs whose state updates it had not read (seen under a
 * rolling restart of the brokers: counts set back by one commit's updates). Read
 * read_committed up to the high watermark, a restore waits for those markers instead;
 * records of an aborted transaction are skipped once its abort marker is written.
 */
export function logEndOffsets(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  return ends(admin, topics, true);
}

async function ends(
  admin: Admin,
  topics: string[],
  readUncommitted: boolean,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const answers = await Promise.all(
    topics.map((topic) => admin.fetchTopicOffsets(topic, { readUncommitted })),
  );
  for (const [i, partitions] of answers.entries())
    for (const p of partitions) out.set(key(topics[i]!, p.partition), Number(p.high));
  return out;
}

/**
 * A group's committed offsets once they are stable: while a transaction holding offsets of
 * these partitions is open (or its markers are still being written, which happens after
 * EndTxn answers), OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT; this
 * asks again every 100 ms until the answer is stable or `timeoutMs` has passed.
 * `onWait` is called once, at the first unstable answer.
 */
export async function fetchStableOffsets(
  admin: Admin,
  groupId: string,
  topics: Array<string | { topic: string; partitions: number[] }>,
  opts: { timeoutMs: number; onWait?: () => void },
): Promise<Awaited<ReturnType<Admin['fetchOffsets']>>> {
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await admin.fetchOffsets({ groupId, topics, requireStable: true });
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNSTABLE_OFFSET_COMMIT' || Date.now() > deadline)
        throw err;
      if (attempt === 0) opts.onWait?.();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Most bytes one restore fetch returns when not told (StreamsConfig `restoreFetchMaxBytes`). */
export const DEFAULT_RESTORE_FETCH_MAX_BYTES = 4 << 20;

export interface RestoreOptions {
  onProgress?: (p: RestoreProgress) => void;
  stallTimeoutMs?: number;
  /**
   * Most bytes one fetch returns, over all partitions and per partition (a record batch
   * larger than this still comes whole). The fetched records stay in memory until the
   * stores have taken them. Default {@link DEFAULT_RESTORE_FETCH_MAX_BYTES}.
   */
  fetchMaxBytes?: number;
}

/**
 * Restores changelog partitions: `restoreChangelogs(kafka, app, targets)` reads each from
 * its checkpoint to its end and hands the records to the stores in bulk; resolves with the
 * number of records restored.
 */
export async function restoreChangelogs(
  kafka: Kafka,
  applicationId: string,
  targets: RestoreTarget[],
  opts: RestoreOptions = {},
): Promise<number> {
  const pending = targets.filter((t) => t.fromOffset < t.endOffset);
  if (!pending.length) return 0;
  return new ChangelogRestorer(kafka, applicationId, pending, opts).run();
}

/**
 * One restore episode: a consumer in a throw-away group, the partitions still to read, and
 * the promise that settles when every one reached its end (or the episode failed).
 */
class ChangelogRestorer {
  private readonly pending: Map<string, RestoreTarget>;
  private readonly restored = new Map<string, number>();
  private total = 0;
  private lastProgress = Date.now();
  /** Batches handed to the stores one after another; the end waits for the last. */
  private applying: Promise<unknown> = Promise.resolve();
  private readonly groupId: string;
  private readonly consumer: Consumer;
  private readonly done: Promise<void>;
  private finish!: () => void;
  private fail!: (e: unknown) => void;

  constructor(
    private readonly kafka: Kafka,
    applicationId: string,
    targets: RestoreTarget[],
    private readonly opts: RestoreOptions,
  ) {
    this.pending = new Map(targets.map((t) => [key(t.topic, t.partition), t]));
    this.groupId = `${applicationId}-restore-${randomUUID()}`;
    const fetchBytes = opts.fetchMaxBytes ?? DEFAULT_RESTORE_FETCH_MAX_BYTES;
    // A short fetch wait: idle partitions must not hold up the disconnect at the end.
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxBytesPerPartition: fetchBytes,
      maxBytes: fetchBytes,
      sessionTimeout: 10_000,
      maxWaitTimeInMs: 100,
    });
    this.done = new Promise<void>((res, rej) => ((this.finish = res), (this.fail = rej)));
    this.done.catch(() => {}); // run() hears it; a failure before run() awaits is not unhandled
    this.listen();
  }

  async run(): Promise<number> {
    const stallMs = this.opts.stallTimeoutMs ?? 60_000;
    const stall = setInterval(() => this.checkStalled(stallMs), 1000);
    try {
      const topics = [...new Set([...this.pending.values()].map((t) => t.topic))];
      await this.consumer.connect();
      await this.consumer.subscribe({ topics, fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: (p) => this.onBatch(p),
      });
      await this.done;
      await this.applying;
      return this.total;
    } finally {
      clearInterval(stall);
      await disposeConsumer(this.kafka, this.consumer, this.groupId);
    }
  }

  private listen(): void {
    const c = this.consumer;
    // kafkajs reports a truly empty fetch as "last offset = high watermark − 1", which under
    // read_committed can lie ahead of what is readable (records of a transaction whose
    // markers are not written yet): only batches that held records (data, control markers
    // or aborted data) move the position.
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.firstOffset !== null)
        this.advance(payload.topic, payload.partition, Number(payload.lastOffset) + 1);
    });
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        const idle = partitions.filter((p) => !this.pending.has(key(topic, p)));
        if (idle.length) c.pause([{ topic, partitions: idle }]);
      }
    });
    c.on(c.events.CRASH, ({ payload }) => this.fail(payload.error));
  }

  /** A partition whose position reached its end is done (and paused). */
  private advance(topic: string, partition: number, next: number): void {
    const k = key(topic, partition);
    const t = this.pending.get(k);
    if (!t) return;
    this.lastProgress = Date.now();
    if (next < t.endOffset) return;
    this.pending.delete(k);
    this.consumer.pause([{ topic, partitions: [partition] }]);
    if (this.pending.size === 0) this.finish();
  }

  // The end of a partition can be signalled (by a marker-only batch) while the data batch
  // before it is still being applied: run() waits for applies in flight.
  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const work = this.apply(payload);
    this.applying = this.applying.then(() => work);
    // A failure reaches run() through kafkajs (eachBatch throws, CRASH, fail) and through
    // `applying`; marked handled, so that one while run() still awaits `done` does not
    // become an unhandled rejection, which stops the process.
    this.applying.catch(() => {});
    await work;
  }

  private async apply({ batch }: EachBatchPayload): Promise<void> {
    const k = key(batch.topic, batch.partition);
    const t = this.pending.get(k);
    if (!t) return;
    const records: RestoreRecordOut[] = [];
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset < t.fromOffset || offset >= t.endOffset || !m.key) continue;
      records.push({ key: m.key, value: m.value, timestamp: Number(m.timestamp), offset });
    }
    if (records.length) await t.apply(records);
    const n = (this.restored.get(k) ?? 0) + records.length;
    this.restored.set(k, n);
    this.total += records.length;
    this.opts.onProgress?.({
      topic: t.topic,
      partition: t.partition,
      restored: n,
      remaining: Math.max(0, t.endOffset - Number(batch.lastOffset()) - 1),
    });
  }

  private checkStalled(stallMs: number): void {
    if (Date.now() - this.lastProgress <= stallMs) return;
    this.fail(
      new MillraceError(
        `restoring ${[...this.pending.keys()].join(', ')} made no progress for ${stallMs / 1000}s; is the broker reachable?`,
        { code: 'RESTORE_STALLED', domain: 'external', retriable: true },
      ),
    );
  }
}

async function disposeConsumer(kafka: Kafka, consumer: Consumer, groupId: string) {
  await consumer.disconnect().catch(() => {});
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    /* the group expires by itself */
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
