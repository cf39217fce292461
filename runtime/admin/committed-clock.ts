/**
 * The stream time an app last committed: each task stores the newest record timestamp it
 * processed in the metadata of its committed offsets (`offset-metadata.ts`), so the
 * group's committed offsets say how far the app's clock got, without starting it.
 */
import type { Admin } from 'kafkajs';
import { decodeOffsetMetadata } from '../offset-metadata.js';

/**
 * The highest stream time committed by group `groupId` on any partition of `topics` (its
 * source topics), epoch ms; undefined when nothing with a stream time was committed or a
 * topic does not exist.
 */
export async function committedStreamTime(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<number | undefined> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  if (!present.length) return undefined;
  let newest: number | undefined;
  for (const { partitions } of await admin.fetchOffsets({ groupId, topics: present }))
    for (const p of partitions) {
      const t = decodeOffsetMetadata(p.metadata);
      if (t !== undefined && (newest === undefined || t > newest)) newest = t;
    }
  return newest;
}
