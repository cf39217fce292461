/**
 * Task assignment: which group member runs which task. A task is one partition of one
 * sub-topology (`<subtopology>_<partition>`); its member gets that partition of every
 * source topic of the sub-topology, so co-partitioned inputs meet in one task.
 *
 * Balanced (task counts differ by at most one) and sticky: a member keeps the tasks it
 * ran before as far as balance allows, so state moves only when it must. A task whose
 * member is gone goes, balance allowing, to a member whose copy of its state is caught up
 * (a standby within `acceptableRecoveryLag` records of the changelog's end), as Kafka
 * Streams' high-availability assignor does; standby replicas are then placed on other
 * instances than the active one (see `assignWithStandbys`).
 */

export interface TaskId {
  subtopology: number;
  partition: number;
}

export function parseTaskId(id: string): TaskId {
  const m = /^(\d+)_(\d+)$/.exec(id);
  if (!m) throw new Error(`not a task id: ${id}`);
  return { subtopology: Number(m[1]), partition: Number(m[2]) };
}

export interface MemberInfo {
  memberId: string;
  /** Tasks this member ran in the previous generation. */
  previousTasks: string[];
  /**
   * The instance (process) the member belongs to: members of one instance (its stream
   * threads) share it, and a standby is never placed on the active task's instance.
   * Default: the member id.
   */
  client?: string;
  /** Standby tasks the member kept in the previous generation. */
  previousStandbys?: string[];
  /**
   * Per task whose state the member keeps without running it (a standby): how many
   * changelog records it is behind the end. Tasks it ran count as caught up (0).
   */
  taskLags?: Readonly<Record<string, number>>;
}

/** How `assignWithStandbys` places tasks. */
export interface AssignmentOptions {
  /** Copies of each task's state kept by other instances (default 0). */
  numStandbyReplicas?: number;
  /**
   * A member whose copy of a task's state is at most this many records behind the
   * changelog's end is caught up: a task that must move goes to such a member when
   * balance allows (Kafka Streams' `acceptable.recovery.lag`). Default 10 000.
   */
  acceptableRecoveryLag?: number;
}

export const DEFAULT_ACCEPTABLE_RECOVERY_LAG = 10_000;

/** Which member runs each task, and which members keep standby copies of which tasks. */
export interface TaskAssignment {
  active: Map<string, string[]>;
  standby: Map<string, string[]>;
}

/** Records `m` is behind on task `t`: 0 for a task it ran, its reported lag, or undefined (no state). */
export function lagOf(m: MemberInfo, t: string): number | undefined {
  if (m.previousTasks.includes(t)) return 0;
  const lag = m.taskLags?.[t];
  return lag === undefined || !Number.isFinite(lag) ? undefined : Math.max(0, lag);
}

/**
 * Assigns every task to exactly one member. Tasks are spread so that each sub-topology's
 * tasks are spread too (ordering interleaves sub-topologies by partition).
 */
export function assignTasks(
  tasks: string[],
  members: MemberInfo[],
  opts: AssignmentOptions = {},
): Map<string, string[]> {
  const result = new Map<string, string[]>(members.map((m) => [m.memberId, []]));
  if (members.length === 0) return result;
  const ordered = [...tasks].sort(byPartitionThenSubtopology);
  const byMember = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const maxPer = Math.ceil(ordered.length / byMember.length);
  const minPer = Math.floor(ordered.length / byMember.length);
  // Only as many members may hold maxPer tasks as the remainder allows.
  let fullSlots = ordered.length - minPer * byMember.length;
  const owner = new Map<string, string>();
  const live = new Set(ordered);

  const capacity = (m: string) => {
    const n = result.get(m)!.length;
    if (n < minPer) return true;
    return n < maxPer && fullSlots > 0;
  };
  const give = (m: string, t: string) => {
    const list = result.get(m)!;
    if (list.length === minPer && minPer < maxPer) fullSlots--;
    list.push(t);
    owner.set(t, m);
  };

  // Sticky pass: keep previous tasks while under the balanced capacity.
  for (const m of byMember) {
    for (const t of [...m.previousTasks].sort(byPartitionThenSubtopology)) {
      if (live.has(t) && !owner.has(t) && capacity(m.memberId)) give(m.memberId, t);
    }
  }
  const sameSub = (m: string, t: string) => {
    const sub = parseTaskId(t).subtopology;
    return result.get(m)!.filter((x) => parseTaskId(x).subtopology === sub).length;
  };
  const leastLoaded = (candidates: MemberInfo[], t: string) =>
    candidates
      .map((m) => m.memberId)
      .filter(capacity)
      .sort(
        (a, b) => sameSub(a, t) - sameSub(b, t) || result.get(a)!.length - result.get(b)!.length,
      )[0];
  // Caught-up pass: a task whose member is gone goes to the member with the freshest copy
  // of its state, if that copy is within the acceptable lag and the member has room.
  const acceptable = opts.acceptableRecoveryLag ?? DEFAULT_ACCEPTABLE_RECOVERY_LAG;
  for (const t of ordered) {
    if (owner.has(t)) continue;
    const caughtUp = byMember.filter(
      (m) => capacity(m.memberId) && (lagOf(m, t) ?? Infinity) <= acceptable,
    );
    if (!caughtUp.length) continue;
    const best = Math.min(...caughtUp.map((m) => lagOf(m, t)!));
    const freshest = caughtUp.filter((m) => lagOf(m, t) === best);
    give(leastLoaded(freshest, t)!, t);
  }
  // Fill pass: the rest go to the least-loaded member.
  for (const t of ordered) if (!owner.has(t)) give(leastLoaded(byMember, t)!, t);
  for (const list of result.values()) list.sort(byPartitionThenSubtopology);
  return result;
}

/**
 * Active tasks as `assignTasks` places them, then `numStandbyReplicas` standby copies of
 * each task that has state (`stateful`), each on an instance (client) other than the
 * active one's and other than the other copies': the member that kept the copy before, or
 * the one whose state is freshest, unless it already holds more than its share; else the
 * member with the fewest tasks. With fewer instances than copies, fewer copies are placed.
 */
export function assignWithStandbys(
  tasks: string[],
  members: MemberInfo[],
  opts: AssignmentOptions & { stateful?: (task: string) => boolean } = {},
): TaskAssignment {
  const active = assignTasks(tasks, members, opts);
  const standby = new Map<string, string[]>(members.map((m) => [m.memberId, []]));
  const replicas = opts.numStandbyReplicas ?? 0;
  if (replicas <= 0 || members.length < 2) return { active, standby };
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const clientOf = (id: string) => byId.get(id)?.client ?? id;
  const ownerOf = new Map<string, string>();
  for (const [m, list] of active) for (const t of list) ownerOf.set(t, m);
  const ordered = tasks
    .filter((t) => ownerOf.has(t) && (opts.stateful?.(t) ?? true))
    .sort(byPartitionThenSubtopology);
  const share = Math.ceil((ordered.length * replicas) / members.length);
  const load = (m: string) => active.get(m)!.length + standby.get(m)!.length;
  const hadState = (m: MemberInfo, t: string) =>
    (m.previousStandbys?.includes(t) ?? false) || lagOf(m, t) !== undefined;
  for (let r = 0; r < replicas; r++) {
    for (const t of ordered) {
      const taken = new Set([clientOf(ownerOf.get(t)!)]);
      for (const [m, list] of standby) if (list.includes(t)) taken.add(clientOf(m));
      const free = members.filter((m) => !taken.has(clientOf(m.memberId)));
      if (!free.length) continue;
      const warm = free
        .filter((m) => hadState(m, t) && standby.get(m.memberId)!.length < share)
        .sort((a, b) => (lagOf(a, t) ?? Infinity) - (lagOf(b, t) ?? Infinity));
      const target =
        warm[0] ??
        [...free].sort(
          (a, b) =>
            standby.get(a.memberId)!.length - standby.get(b.memberId)!.length ||
            load(a.memberId) - load(b.memberId) ||
            a.memberId.localeCompare(b.memberId),
        )[0]!;
      standby.get(target.memberId)!.push(t);
    }
  }
  for (const list of standby.values()) list.sort(byPartitionThenSubtopology);
  return { active, standby };
}

function byPartitionThenSubtopology(a: string, b: string): number {
  const x = parseTaskId(a);
  const y = parseTaskId(b);
  return x.partition - y.partition || x.subtopology - y.subtopology;
}

/** The topic-partitions a member must consume for its tasks. */
export function partitionsForTasks(
  tasks: string[],
  sourceTopicsBySubtopology: ReadonlyMap<number, readonly string[]>,
  partitionCount: (topic: string) => number,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const id of tasks) {
    const t = parseTaskId(id);
    for (const topic of sourceTopicsBySubtopology.get(t.subtopology) ?? []) {
      if (t.partition < partitionCount(topic)) (out[topic] ??= []).push(t.partition);
    }
  }
  for (const list of Object.values(out)) list.sort((a, b) => a - b);
  return out;
}
