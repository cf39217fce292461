/**
 * Consumer lag from the broker's view: for each source partition, the end of the log
 * minus the group's committed offset. Polled (at most once a second per caller), not
 * on the record path. Under exactly-once, a transactional source (a repartition topic)
 * ends with a commit marker, so its lag settles at 1, not 0, when caught up.
 */
import type { Admin } from 'kafkajs';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** End offset (high watermark) minus committed offset; the whole log when nothing is committed. */
  lag: number;
}

export async function committedLag(
  admin: Admin,
  groupId: string,
  parts: ReadonlyArray<{ topic: string; partition: number }>,
): Promise<PartitionLag[]> {
  const topics = [...new Set(parts.map((p) => p.topic))];
  if (!topics.length) return [];
  const committed = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId, topics }))
    for (const p of t.partitions) committed.set(`${t.topic}:${p.partition}`, Number(p.offset));
  const ends = new Map<string, { low: number; high: number }>();
  for (const topic of topics)
    for (const p of await admin.fetchTopicOffsets(topic))
      ends.set(`${topic}:${p.partition}`, { low: Number(p.low), high: Number(p.high) });
  return parts.map(({ topic, partition }) => {
    const end = ends.get(`${topic}:${partition}`) ?? { low: 0, high: 0 };
    const c = committed.get(`${topic}:${partition}`) ?? -1;
    return { topic, partition, lag: Math.max(0, end.high - (c >= 0 ? c : end.low)) };
  });
}
