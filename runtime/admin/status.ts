/**
 * `millrace status`: what an application's consumer group is doing, from Kafka's admin
 * API — the group's state and members, which member runs which task (derived from the
 * partitions each was assigned, the way the runtime derives them), and per source
 * partition the committed offset, the end offset and the lag.
 */
import { AssignerProtocol, type Admin, type GroupDescription } from 'kafkajs';
import { decodeAssignmentUserData } from '../group-protocol.js';
import { tasksFromAssignment, type TaskLayout } from '../kafka-assignor.js';
import type { AppTopics } from './app-topics.js';
import { topicHealth, type TopicHealth } from '../replication.js';
import { isRetriable } from '../retry.js';

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
  /** Assigned partitions by topic (empty while the group rebalances). */
  assignment: Record<string, number[]>;
  /** Standby tasks the leader gave it (none from an older millrace, or without standbys). */
  standbyTasks?: string[];
  /** Where it answers interactive queries (`host:port`), if it advertised it. */
  endpoint?: string | null;
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: number;
  /** End offset (high watermark). */
  high: number;
  /** The group's committed offset, or null when it has none. */
  committed: number | null;
}

export interface StatusInput {
  applicationId: string;
  groupState: string;
  protocol: string;
  members: GroupMember[];
  sourcesBySubtopology: ReadonlyMap<number, readonly string[]>;
  /** The external source topics (repartition topics are absent until the app first runs). */
  inputTopics: readonly string[];
  /** Offsets of every source topic that exists and answered. */
  offsets: ReadonlyMap<string, PartitionOffsets[]>;
  /** Source topics that exist but whose offsets could not be read. */
  unavailableTopics?: readonly string[];
  health?: readonly TopicHealth[];
}

export interface PartitionStatus {
  topic: string;
  partition: number;
  task: string;
  /** Member id of the member assigned this partition, or null. */
  owner: string | null;
  committed: number | null;
  end: number;
  /**
   * Records not yet committed: end − committed, or end − log start when nothing is
   * committed (the runtime then starts at the log start).
   */
  lag: number;
}

export interface MemberStatus {
  memberId: string;
  clientId: string;
  host: string;
  tasks: string[];
  /** Tasks it keeps standby copies of. */
  standbyTasks?: string[];
  /** Where it answers interactive queries. */
  endpoint?: string | null;
}

export interface AppStatus {
  applicationId: string;
  /** Kafka's group state: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead. */
  groupState: string;
  /** The group's assignment protocol (`MillraceTaskAssignor` for a millrace app). */
  protocol: string;
  members: MemberStatus[];
  /** Every task with partitions on the cluster, with the member(s) running it (and keeping standbys of it). */
  tasks: Array<{ task: string; owners: string[]; standbys?: string[] }>;
  partitions: PartitionStatus[];
  totalLag: number;
  /** Input topics the topology names that do not exist. */
  missingTopics: string[];
  /** Topics whose offsets could not be read (a partition without a leader). */
  unavailableTopics: string[];
  /** Replication and partition health of the app's topics (sources, internal, dead letters). */
  topics: TopicHealth[];
}

function layoutOf(sources: ReadonlyMap<number, readonly string[]>): TaskLayout {
  return {
    sourcesBySubtopology: sources,
    partitionsBySubtopology: new Map(),
    partitionCount: () => 0,
  };
}

/** Pure: joins the group description with the offsets into one report. */
export function buildStatus(input: StatusInput): AppStatus {
  const layout = layoutOf(input.sourcesBySubtopology);
  const members = input.members.map((m) => ({
    memberId: m.memberId,
    clientId: m.clientId,
    host: m.host,
    tasks: tasksFromAssignment(m.assignment, layout),
    ...(m.standbyTasks?.length ? { standbyTasks: m.standbyTasks } : {}),
    ...(m.endpoint ? { endpoint: m.endpoint } : {}),
  }));
  const ownerOf = (topic: string, partition: number) =>
    input.members.find((m) => m.assignment[topic]?.includes(partition))?.memberId ?? null;
  const partitions: PartitionStatus[] = [];
  const tasks = new Map<string, string[]>();
  for (const [sub, topics] of [...input.sourcesBySubtopology].sort((a, b) => a[0] - b[0])) {
    for (const topic of topics) {
      for (const o of [...(input.offsets.get(topic) ?? [])].sort(
        (a, b) => a.partition - b.partition,
      )) {
        const task = `${sub}_${o.partition}`;
        if (!tasks.has(task)) tasks.set(task, []);
        const lag = Math.max(0, o.high - (o.committed ?? o.low));
        partitions.push({
          topic,
          partition: o.partition,
          task,
          owner: ownerOf(topic, o.partition),
          committed: o.committed,
          end: o.high,
          lag,
        });
      }
    }
  }
  for (const m of members)
    for (const t of m.tasks) (tasks.get(t) ?? tasks.set(t, []).get(t)!).push(m.memberId);
  const standbys = new Map<string, string[]>();
  for (const m of members)
    for (const t of m.standbyTasks ?? []) standbys.set(t, [...(standbys.get(t) ?? []), m.memberId]);
  return {
    applicationId: input.applicationId,
    groupState: input.groupState,
    protocol: input.protocol,
    members,
    tasks: [...tasks].sort(byTaskId).map(([task, owners]) => ({
      task,
      owners,
      ...(standbys.has(task) ? { standbys: standbys.get(task)! } : {}),
    })),
    partitions,
    totalLag: partitions.reduce((s, p) => s + p.lag, 0),
    missingTopics: input.inputTopics.filter(
      (t) => !input.offsets.has(t) && !input.unavailableTopics?.includes(t),
    ),
    unavailableTopics: [...(input.unavailableTopics ?? [])],
    topics: [...(input.health ?? [])],
  };
}

function byTaskId(a: [string, unknown], b: [string, unknown]): number {
  const [x, y] = [a[0].split('_').map(Number), b[0].split('_').map(Number)];
  return x[0]! - y[0]! || x[1]! - y[1]!;
}

/** The group's members with their decoded assignments. */
export function decodeMembers(group: GroupDescription): GroupMember[] {
  return group.members.map((m) => {
    let assignment: Record<string, number[]> = {};
    let userData: Buffer | null = null;
    try {
      if (m.memberAssignment?.length) {
        const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        assignment = decoded?.assignment ?? {};
        userData = decoded?.userData ?? null;
      }
    } catch {
      assignment = {}; // not a consumer-protocol assignment; shown without tasks
    }
    const d = decodeAssignmentUserData(userData);
    const endpoint = d.members.find((x) => x.memberId === m.memberId)?.endpoint;
    // Kafka reports the host as `/1.2.3.4`.
    return {
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost.replace(/^\//, ''),
      assignment,
      ...(d.standbyTasks.length ? { standbyTasks: d.standbyTasks } : {}),
      ...(endpoint ? { endpoint } : {}),
    };
  });
}

/**
 * Log start, end and committed offsets of each existing topic in `topics`. With
 * `onUnavailable`, a topic whose offsets cannot be read (one of its partitions has no
 * leader: a broker is down) is reported there and left out, instead of failing the call.
 */
export async function fetchOffsets(
  admin: Admin,
  groupId: string,
  topics: string[],
  onUnavailable?: (topic: string, err: unknown) => void,
): Promise<Map<string, PartitionOffsets[]>> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  const out = new Map<string, PartitionOffsets[]>();
  if (!present.length) return out;
  const committed = await admin.fetchOffsets({ groupId, topics: present });
  for (const topic of present) {
    const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
    let ends: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    try {
      ends = await admin.fetchTopicOffsets(topic);
    } catch (err) {
      if (!onUnavailable || !isRetriable(err)) throw err;
      onUnavailable(topic, err);
      continue;
    }
    out.set(
      topic,
      ends.map((e) => {
        const c = Number(mine.find((p) => p.partition === e.partition)?.offset ?? -1);
        return {
          partition: e.partition,
          low: Number(e.low),
          high: Number(e.high),
          committed: c >= 0 ? c : null,
        };
      }),
    );
  }
  return out;
}

/**
 * Reads the group, its offsets and its topics' health from the cluster. Works while a
 * broker is down: partitions without a leader show in `topics`, and a source topic whose
 * offsets cannot be read is listed in `unavailableTopics`.
 */
export async function fetchStatus(admin: Admin, app: AppTopics): Promise<AppStatus> {
  const { groups } = await admin.describeGroups([app.applicationId]);
  const group = groups[0];
  const sources = [...new Set([...app.sourcesBySubtopology.values()].flat())];
  const unavailableTopics: string[] = [];
  const offsets = await fetchOffsets(admin, app.applicationId, sources, (t) =>
    unavailableTopics.push(t),
  );
  const existing = new Set(await admin.listTopics());
  const owned = [...sources, ...app.internalTopics, `${app.applicationId}-dlq`];
  return buildStatus({
    applicationId: app.applicationId,
    groupState: group?.state ?? 'Dead',
    protocol: group?.protocol ?? '',
    members: group ? decodeMembers(group) : [],
    sourcesBySubtopology: app.sourcesBySubtopology,
    inputTopics: app.inputTopics,
    offsets,
    unavailableTopics,
    health: await topicHealth(
      admin,
      [...new Set(owned)].filter((t) => existing.has(t)),
      true,
    ),
  });
}

/**
 * Where the members of an application's group answer interactive queries, as the latest
 * assignment says (empty while the group rebalances, or when no member advertises one).
 */
export async function queryEndpoints(admin: Admin, applicationId: string): Promise<string[]> {
  const { groups } = await admin.describeGroups([applicationId]);
  const members = groups[0] ? decodeMembers(groups[0]) : [];
  return [...new Set(members.flatMap((m) => (m.endpoint ? [m.endpoint] : [])))];
}
