/**
 * Topic administration: create topics (all of them, or only the absent ones) and delete a
 * run's topics by prefix. Used by `millrace ingest`, the benchmarks and the tests.
 */
import type { Admin, Kafka } from 'kafkajs';

/** A topic to create: its partitions and topic-level configs (`cleanup.policy`, …). */
export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Replicas of each partition; the brokers' default when absent. */
  replicationFactor?: number;
  config?: Record<string, string>;
}

/** Runs `fn` with a connected admin client of `kafka`, and disconnects it after. */
export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

function create(admin: Admin, topics: TopicSpec[]): Promise<boolean> {
  return admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((t) => ({
      topic: t.topic,
      numPartitions: t.partitions,
      ...(t.replicationFactor ? { replicationFactor: t.replicationFactor } : {}),
      configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
    })),
  });
}

/** Creates `topics` and waits for their leaders. */
export async function createTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  await withAdmin(kafka, (admin) => create(admin, topics));
}

/**
 * Creates the topics that are absent and returns their names. Existing topics are left as
 * they are.
 *
 * @example await ensureTopics(kafka, [{ topic: 'trades.raw', partitions: 8 }, { topic: 'finnhub.dlq', partitions: 1 }])
 */
export function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<string[]> {
  return withAdmin(kafka, async (admin) => {
    const have = new Set(await admin.listTopics());
    const want = topics.filter((t) => !have.has(t.topic));
    if (want.length) await create(admin, want);
    return want.map((t) => t.topic);
  });
}

/** Deletes every topic whose name starts with `prefix` (a run's own id); best effort. */
export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
  }).catch(() => undefined);
}
