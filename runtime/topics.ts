/**
 * Topic housekeeping at start-up: source topics must exist, co-partitioned sources
 * must agree on their partition count, and internal topics (changelogs, repartition
 * topics) are created with the partition count of their sub-topology's sources.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { StreamsError } from './errors.js';

export interface InternalTopicSpec {
  name: string;
  partitions: number;
  /** e.g. `{ 'cleanup.policy': 'compact' }`. */
  config: Record<string, string>;
}

/** Partition count of each existing topic in `topics`; missing topics are absent from the map. */
export async function partitionCounts(
  admin: Admin,
  topics: string[],
): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  const out = new Map<string, number>();
  if (!present.length) return out;
  const meta = await admin.fetchTopicMetadata({ topics: present });
  for (const t of meta.topics) out.set(t.name, t.partitions.length);
  return out;
}

/**
 * Fails with one message listing every missing topic of a kind and how to create it. The
 * app creates its internal topics, never its sources (read) or outputs (a sink's topic:
 * a broker that does not create topics would refuse every commit until it appears).
 */
export function requireTopics(
  kind: 'source' | 'output',
  topics: string[],
  counts: Map<string, number>,
): void {
  const missing = topics.filter((t) => !counts.has(t));
  if (missing.length) {
    throw new StreamsError(
      `${kind} topic(s) ${missing.join(', ')} do not exist; create them first (for example with the admin client or ` +
        '`kafka-topics.sh --create --topic <name> --partitions <n>`), then start the app again',
      { code: `${kind.toUpperCase()}_TOPIC_MISSING`, domain: 'user' },
    );
  }
}

/**
 * Sources read by one sub-topology are joined partition by partition, so they must have
 * the same number of partitions. Returns the sub-topology's partition count.
 */
export function checkCopartitioned(
  subtopology: number,
  sources: string[],
  counts: Map<string, number>,
): number {
  const sizes = new Map(sources.map((t) => [t, counts.get(t) ?? 0]));
  const distinct = new Set(sizes.values());
  if (distinct.size > 1) {
    const detail = [...sizes].map(([t, n]) => `${t}=${n}`).join(', ');
    throw new StreamsError(
      `sub-topology ${subtopology} reads topics that are not co-partitioned (${detail}): ` +
        'records with one key would meet in different tasks; repartition one side or create the topics with equal partition counts',
      { code: 'NOT_COPARTITIONED', domain: 'user' },
    );
  }
  return Math.max(0, ...sizes.values());
}

/** An internal topic must have its sub-topology's partition count. */
export function checkPartitionCount(topic: string, have: number, need: number): void {
  if (have === need) return;
  throw new StreamsError(
    `internal topic ${topic} has ${have} partitions but needs ${need}; ` +
      'run `millrace reset <app>` to delete the internal topics (they are rebuilt from the sources), then start again',
    { code: 'INTERNAL_TOPIC_MISMATCH', domain: 'user' },
  );
}

/** Creates absent internal topics; an existing one with the wrong partition count is an error. */
export async function ensureInternalTopics(
  admin: Admin,
  specs: InternalTopicSpec[],
  replicationFactor: number,
): Promise<string[]> {
  const counts = await partitionCounts(
    admin,
    specs.map((s) => s.name),
  );
  for (const s of specs) {
    const have = counts.get(s.name);
    if (have !== undefined) checkPartitionCount(s.name, have, s.partitions);
  }
  const toCreate: ITopicConfig[] = specs
    .filter((s) => !counts.has(s.name))
    .map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      replicationFactor,
      configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
    }));
  if (toCreate.length) {
    try {
      await admin.createTopics({ topics: toCreate, waitForLeaders: true });
    } catch (err) {
      // Another instance may have created them at the same moment.
      if (!/already exists/i.test(String((err as Error).message))) throw err;
    }
  }
  return toCreate.map((t) => t.topic);
}

/** A config of an existing internal topic that differs from what millrace creates it with. */
export interface ConfigDrift {
  topic: string;
  name: string;
  want: string;
  have: string | undefined;
}

/** The configs in `want` that `have` (the topic's, as the broker describes them) does not match. */
export function configDrift(
  topic: string,
  want: Record<string, string>,
  have: ReadonlyMap<string, string | undefined>,
): ConfigDrift[] {
  return Object.entries(want)
    .filter(([name, value]) => have.get(name) !== value)
    .map(([name, value]) => ({ topic, name, want: value, have: have.get(name) }));
}

/**
 * Existing internal topics whose configs differ from what millrace would create them with:
 * topics made by an older version (repartition topics kept by time), by hand, or for a
 * store whose retention changed since.
 */
export async function internalConfigDrift(
  admin: Admin,
  specs: readonly InternalTopicSpec[],
): Promise<ConfigDrift[]> {
  const withConfig = specs.filter((s) => Object.keys(s.config).length);
  if (!withConfig.length) return [];
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: withConfig.map((s) => ({
      type: TOPIC_RESOURCE,
      name: s.name,
      configNames: Object.keys(s.config),
    })),
  });
  return resources.flatMap((r) => {
    const spec = withConfig.find((s) => s.name === r.resourceName);
    if (!spec || r.errorCode) return [];
    const have = new Map(r.configEntries.map((e) => [e.configName, e.configValue] as const));
    return configDrift(spec.name, spec.config, have);
  });
}

/** Kafka's ConfigResource type of a topic (kafkajs' ConfigResourceTypes.TOPIC). */
const TOPIC_RESOURCE = 2;
