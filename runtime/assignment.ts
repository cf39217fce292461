/**
 * Task assignment: which group member runs which task. A task is one partition of one
 * sub-topology (`<subtopology>_<partition>`); its member gets that partition of every
 * source topic of the sub-topology, so co-partitioned inputs meet in one task.
 *
 * Balanced (task counts differ by at most one) and sticky: a member keeps the tasks it
 * ran before as far as balance allows, so state moves only when it must.
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
}

/**
 * Assigns every task to exactly one member. Tasks are spread so that each sub-topology's
 * tasks are spread too (ordering interleaves sub-topologies by partition).
 */
export function assignTasks(tasks: string[], members: MemberInfo[]): Map<string, string[]> {
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
  // Fill pass: the rest go to the least-loaded member.
  for (const t of ordered) {
    if (owner.has(t)) continue;
    const sub = parseTaskId(t).subtopology;
    const sameSub = (m: string) =>
      result.get(m)!.filter((x) => parseTaskId(x).subtopology === sub).length;
    const target = byMember
      .map((m) => m.memberId)
      .filter(capacity)
      .sort((a, b) => sameSub(a) - sameSub(b) || result.get(a)!.length - result.get(b)!.length)[0]!;
    give(target, t);
  }
  for (const list of result.values()) list.sort(byPartitionThenSubtopology);
  return result;
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
