/**
 * Reading a topic back, read_committed, from the beginning: what the e2e tests and the
 * soak compare with what they wrote (test/support/kafka-helpers.ts re-exports it).
 */
import type { Kafka } from 'kafkajs';

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  /** The record's timestamp, epoch ms. */
  timestamp: number;
  headers: Record<string, string>;
}

/** The records `topic` holds: over its partitions, high watermark − low watermark. */
export async function recordsIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a topic from the beginning (read_committed) until `done(records)` holds or the
 * time runs out; uses a group of its own with a random id. `done` is asked after each
 * batch and every 250 ms.
 */
export async function readUntil(
  kafka: Kafka,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  timeoutMs = 60_000,
  encoding: BufferEncoding = 'utf8',
): Promise<ReadRecord[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${topic}-${Math.random().toString(36).slice(2)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  const got: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let poll: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `read ${got.length} records from ${topic} in ${timeoutMs} ms without reaching the expected state`,
            ),
          ),
        timeoutMs,
      );
      const check = () => {
        if (done(got)) {
          clearTimeout(timer);
          resolve();
        }
      };
      poll = setInterval(check, 250);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
            got.push({
              partition: batch.partition,
              offset: Number(m.offset),
              key: m.key?.toString() ?? null,
              value: m.value?.toString(encoding) ?? null,
              timestamp: Number(m.timestamp),
              headers,
            });
          }
          check();
        },
      });
      check();
    }).finally(() => clearInterval(poll));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** For each key, the sequence of values in the order read (per partition order). */
export function valuesByKey(records: ReadRecord[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    if (r.key === null) continue;
    (m.get(r.key) ?? m.set(r.key, []).get(r.key)!).push(r.value ?? '');
  }
  return m;
}

/**
 * A `done` for readUntil: at least `atLeast` records read, then none more for `quietMs`
 * (so records beyond the expected count — duplicates — are read too).
 */
export function settled(atLeast: number, quietMs = 2000): (got: ReadRecord[]) => boolean {
  let lastAt = Date.now();
  let n = -1;
  return (got) => {
    if (got.length !== n) {
      n = got.length;
      lastAt = Date.now();
    }
    return got.length >= atLeast && Date.now() - lastAt >= quietMs;
  };
}

/** Reads `topic` (read_committed) until {@link settled}; rejects after `timeoutMs`. */
export function readSettled(
  kafka: Kafka,
  topic: string,
  o: { atLeast: number; quietMs?: number; timeoutMs?: number; encoding?: BufferEncoding },
): Promise<ReadRecord[]> {
  return readUntil(kafka, topic, settled(o.atLeast, o.quietMs), o.timeoutMs ?? 180_000, o.encoding);
}
