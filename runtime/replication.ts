/**
 * Replication of the topics an app owns, read from the cluster: the replication factor
 * internal topics are created with (the broker's `default.replication.factor` unless the
 * user set one, as Kafka Streams' -1 since 3.0, KIP-733), a start-up check of internal
 * topics that already exist, and the health of an app's partitions (leaderless,
 * under-replicated) for `millrace status`.
 */
import type { Admin } from 'kafkajs';
import { StreamsError } from './errors.js';

/** Kafka's config resource types (kafkajs's ConfigResourceTypes, which ESM cannot import by name). */
const RESOURCE = { TOPIC: 2, BROKER: 4 } as const;

/** What the cluster uses for topics created without explicit settings. */
export interface ClusterDefaults {
  brokers: number;
  defaultReplicationFactor: number;
  minInsyncReplicas: number;
}

/** Reads the broker defaults from whichever broker answers first. */
export async function clusterDefaults(admin: Admin): Promise<ClusterDefaults> {
  const { brokers } = await admin.describeCluster();
  let lastError: unknown;
  for (const b of brokers) {
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: RESOURCE.BROKER,
            name: String(b.nodeId),
            configNames: ['default.replication.factor', 'min.insync.replicas'],
          },
        ],
      });
      const entries = resources[0]?.configEntries ?? [];
      const value = (name: string) =>
        Number(entries.find((e) => e.configName === name)?.configValue ?? 1);
      return {
        brokers: brokers.length,
        defaultReplicationFactor: value('default.replication.factor'),
        minInsyncReplicas: value('min.insync.replicas'),
      };
    } catch (err) {
      lastError = err; // that broker is down or busy: ask the next
    }
  }
  throw lastError ?? new Error('the cluster lists no brokers');
}

/** The replication factor to create internal topics with: the configured one, or the broker's default for -1. */
export function replicationFactorFor(configured: number, cluster: ClusterDefaults): number {
  return configured === -1 ? cluster.defaultReplicationFactor : configured;
}

/**
 * Creating topics with `rf` replicas needs that many brokers up (Kafka refuses otherwise):
 * retriable, since a broker may be restarting; the message names both fixes.
 */
export function checkCanCreate(rf: number, cluster: ClusterDefaults, topics: string[]): void {
  if (!topics.length || rf <= cluster.brokers) return;
  throw new StreamsError(
    `creating ${topics.length} internal topic(s) (${topics.slice(0, 3).join(', ')}${topics.length > 3 ? ', …' : ''}) with replication factor ${rf} needs ${rf} brokers, and ${cluster.brokers} answer: ` +
      'start the missing broker(s), or set replicationFactor (MILLRACE_REPLICATION_FACTOR) to at most the brokers you have (-1: the broker default)',
    { code: 'NOT_ENOUGH_BROKERS', domain: 'external', retriable: true },
  );
}

/** Replication of one topic as the cluster reports it now. */
export interface TopicHealth {
  topic: string;
  partitions: number;
  /** The smallest replica count of its partitions. */
  replicationFactor: number;
  /** The topic's effective `min.insync.replicas` (undefined when it could not be read). */
  minInsyncReplicas?: number;
  /** Partitions with no leader: nothing can be read from or written to them. */
  leaderless: number[];
  /** Partitions with fewer in-sync replicas than replicas. */
  underReplicated: number[];
}

/**
 * Replication and partition health of each topic in `topics` (they must exist). With
 * `bestEffort`, a topic whose `min.insync.replicas` cannot be read is reported without it
 * (for status pages); otherwise that failure is thrown (retriable when a broker does not
 * know the topic yet).
 */
export async function topicHealth(
  admin: Admin,
  topics: string[],
  bestEffort = false,
): Promise<TopicHealth[]> {
  if (!topics.length) return [];
  const { topics: meta } = await admin.fetchTopicMetadata({ topics });
  const minIsr = await topicMinIsr(admin, topics).catch((err: unknown) => {
    if (bestEffort) return new Map<string, number>();
    throw err;
  });
  return meta.map((t) => ({
    topic: t.name,
    partitions: t.partitions.length,
    replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)),
    minInsyncReplicas: minIsr.get(t.name),
    leaderless: t.partitions.filter((p) => p.leader < 0).map((p) => p.partitionId),
    underReplicated: t.partitions
      .filter((p) => p.isr.length < p.replicas.length)
      .map((p) => p.partitionId),
  }));
}

async function topicMinIsr(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: RESOURCE.TOPIC,
      name,
      configNames: ['min.insync.replicas'],
    })),
  });
  const out = new Map<string, number>();
  for (const r of resources) {
    const v = r.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue;
    if (v !== undefined) out.set(r.resourceName, Number(v));
  }
  return out;
}

/** What the start-up check found wrong with an existing internal topic. */
export interface ReplicationProblem {
  topic: string;
  /** `fatal`: no write with acks=all can succeed; `warning`: less redundancy than asked. */
  severity: 'fatal' | 'warning';
  message: string;
}

/**
 * Existing internal topics checked against the replication factor asked for and their
 * `min.insync.replicas`: below the latter nothing can be written (acks=all), below the
 * former a broker loss can take partitions offline. Pure: judges what topicHealth read.
 */
export function replicationProblems(
  health: readonly TopicHealth[],
  asked: number,
  applicationId: string,
): ReplicationProblem[] {
  const out: ReplicationProblem[] = [];
  const fix =
    `run \`millrace reset ${applicationId}\` to delete the internal topics (they are rebuilt from the sources) ` +
    'or raise their replication with kafka-reassign-partitions.sh, then start again';
  for (const h of health) {
    const rf = h.replicationFactor;
    if (h.minInsyncReplicas !== undefined && rf < h.minInsyncReplicas)
      out.push({
        topic: h.topic,
        severity: 'fatal',
        message: `internal topic ${h.topic} has replication factor ${rf}, below its min.insync.replicas ${h.minInsyncReplicas}: no write can succeed; ${fix}`,
      });
    else if (rf < asked)
      out.push({
        topic: h.topic,
        severity: 'warning',
        message: `internal topic ${h.topic} has replication factor ${rf}, below the ${asked} asked for: losing one broker can stop the app; ${fix}`,
      });
  }
  return out;
}
