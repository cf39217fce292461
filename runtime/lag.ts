/**
 * Consumer lag of a running instance's own partitions, for its metrics and status page:
 * the same measure as `millrace status` (end of the log minus the group's committed
 * offset, or minus the log start when nothing is committed). Polled, never on the record
 * path. A caught-up transactional source (a repartition topic under exactly-once) shows 0:
 * tasks commit past the commit markers they read (StreamTask.readPast).
 */
import type { Admin } from 'kafkajs';
import { fetchOffsets } from './admin/status.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export async function committedLag(
  admin: Admin,
  groupId: string,
  parts: ReadonlyArray<{ topic: string; partition: number }>,
): Promise<PartitionLag[]> {
  const topics = [...new Set(parts.map((p) => p.topic))];
  if (!topics.length) return [];
  // A topic without a leader for a partition (a broker down) shows no lag until it has one.
  const offsets = await fetchOffsets(admin, groupId, topics, () => {});
  return parts.map(({ topic, partition }) => {
    const o = offsets.get(topic)?.find((p) => p.partition === partition);
    return { topic, partition, lag: o ? Math.max(0, o.high - (o.committed ?? o.low)) : 0 };
  });
}
