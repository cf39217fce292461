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

/** The end offset of each partition of `topics` (high watermark). */
export async function endOffsets(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic))
      out.set(key(topic, p.partition), Number(p.high));
  }
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

export async function restoreChangelogs(
  kafka: Kafka,
  applicationId: string,
  targets: RestoreTarget[],
  opts: RestoreOptions = {},
): Promise<number> {
  const pending = new Map(
    targets.filter((t) => t.fromOffset < t.endOffset).map((t) => [key(t.topic, t.partition), t]),
  );
  if (pending.size === 0) return 0;
  const groupId = `${applicationId}-restore-${randomUUID()}`;
  // A short fetch wait: idle partitions must not hold up the disconnect at the end.
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxBytesPerPartition: opts.fetchMaxBytes ?? DEFAULT_RESTORE_FETCH_MAX_BYTES,
    maxBytes: opts.fetchMaxBytes ?? DEFAULT_RESTORE_FETCH_MAX_BYTES,
    sessionTimeout: 10_000,
    maxWaitTimeInMs: 100,
  });
  const restored = new Map<string, number>();
  let total = 0;
  let lastProgress = Date.now();
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => ((finish = res), (fail = rej)));
  const positions = new Map<string, number>();
  const advance = (topic: string, partition: number, next: number) => {
    const k = key(topic, partition);
    const t = pending.get(k);
    if (!t) return;
    positions.set(k, Math.max(positions.get(k) ?? 0, next));
    lastProgress = Date.now();
    if (next >= t.endOffset) {
      pending.delete(k);
      void consumer.pause([{ topic, partitions: [partition] }]);
      if (pending.size === 0) finish();
    }
  };
  // kafkajs reports a truly empty fetch as "last offset = high watermark − 1", which under
  // read_committed can lie ahead of what is readable (records of a transaction whose
  // markers are not written yet): only batches that held records (data, control markers
  // or aborted data) move the position.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.firstOffset !== null)
      advance(payload.topic, payload.partition, Number(payload.lastOffset) + 1);
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      const idle = partitions.filter((p) => !pending.has(key(topic, p)));
      if (idle.length) consumer.pause([{ topic, partitions: idle }]);
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));

  // The end of a partition can be signalled (by a marker-only batch) while the data batch
  // before it is still being applied: the caller waits for applies in flight.
  let applying: Promise<unknown> = Promise.resolve();
  const eachBatch = async (payload: EachBatchPayload) => {
    const work = applyBatch(payload);
    applying = applying.then(() => work);
    await work;
  };
  const applyBatch = async ({ batch }: EachBatchPayload) => {
    const t = pending.get(key(batch.topic, batch.partition));
    if (!t) return;
    const records: RestoreRecordOut[] = [];
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset < t.fromOffset || offset >= t.endOffset || !m.key) continue;
      records.push({ key: m.key, value: m.value, timestamp: Number(m.timestamp), offset });
    }
    if (records.length) await t.apply(records);
    const n = (restored.get(key(t.topic, t.partition)) ?? 0) + records.length;
    restored.set(key(t.topic, t.partition), n);
    total += records.length;
    opts.onProgress?.({
      topic: t.topic,
      partition: t.partition,
      restored: n,
      remaining: Math.max(0, t.endOffset - Number(batch.lastOffset()) - 1),
    });
  };

  const stall = setInterval(() => {
    if (Date.now() - lastProgress > (opts.stallTimeoutMs ?? 60_000)) {
      fail(
        new MillraceError(
          `restoring ${[...pending.keys()].join(', ')} made no progress for ${(opts.stallTimeoutMs ?? 60_000) / 1000}s; is the broker reachable?`,
          { code: 'RESTORE_STALLED', domain: 'external', retriable: true },
        ),
      );
    }
  }, 1000);
  try {
    const topics = [...new Set(targets.map((t) => t.topic))];
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch, eachBatchAutoResolve: true });
    await done;
    await applying;
    return total;
  } finally {
    clearInterval(stall);
    await disposeConsumer(kafka, consumer, groupId);
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
