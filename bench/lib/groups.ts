/** Consumer groups a bench created (its application ids), deleted when it ends. */
import type { Kafka } from 'kafkajs';

/** Deletes the consumer groups whose id starts with `prefix` (best effort). */
export async function deleteGroupsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const mine = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (mine.length) await admin.deleteGroups(mine);
  } catch {
    /* best effort */
  } finally {
    await admin.disconnect();
  }
}
