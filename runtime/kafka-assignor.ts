/**
 * The group's partition assignor for kafkajs: assigns whole tasks (every source
 * partition of one sub-topology partition) rather than single partitions, sticky to
 * what each member ran before (sent as the member's userData).
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import { assignTasks, partitionsForTasks } from './assignment.js';

export interface TaskLayout {
  /** Source topics (external and repartition) of each sub-topology. */
  sourcesBySubtopology: ReadonlyMap<number, readonly string[]>;
  /** Partition count of each sub-topology (its sources are co-partitioned). */
  partitionsBySubtopology: ReadonlyMap<number, number>;
  /** Partition count of each source topic. */
  partitionCount(topic: string): number;
}

export const ASSIGNOR_NAME = 'MillraceTaskAssignor';

export function allTasks(layout: TaskLayout): string[] {
  const out: string[] = [];
  for (const [sub, n] of layout.partitionsBySubtopology)
    for (let p = 0; p < n; p++) out.push(`${sub}_${p}`);
  return out;
}

interface UserData {
  previousTasks: string[];
}

function decodeUserData(buf: Buffer | null | undefined): UserData {
  if (!buf || buf.length === 0) return { previousTasks: [] };
  try {
    const parsed = JSON.parse(buf.toString('utf8')) as Partial<UserData>;
    return { previousTasks: Array.isArray(parsed.previousTasks) ? parsed.previousTasks : [] };
  } catch {
    return { previousTasks: [] };
  }
}

/**
 * Builds the kafkajs assigner. `currentTasks` is read when the member (re)joins, so the
 * leader learns which tasks each member ran and keeps them where they are.
 */
export function taskAssignor(
  layout: () => TaskLayout,
  currentTasks: () => string[],
): PartitionAssigner {
  return () => ({
    name: ASSIGNOR_NAME,
    version: 1,
    async assign({ members }) {
      const l = layout();
      const infos = members.map((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        return {
          memberId: m.memberId,
          previousTasks: decodeUserData(meta?.userData).previousTasks,
        };
      });
      const byMember = assignTasks(allTasks(l), infos);
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: partitionsForTasks(
            byMember.get(m.memberId) ?? [],
            l.sourcesBySubtopology,
            l.partitionCount,
          ),
          userData: Buffer.from(JSON.stringify({ tasks: byMember.get(m.memberId) ?? [] })),
        }),
      }));
    },
    protocol({ topics }) {
      const userData = Buffer.from(
        JSON.stringify({ previousTasks: currentTasks() } satisfies UserData),
      );
      return {
        name: ASSIGNOR_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData }),
      };
    },
  });
}

/** The tasks a member got, from its assigned partitions. */
export function tasksFromAssignment(
  assignment: Record<string, number[]>,
  layout: TaskLayout,
): string[] {
  const tasks = new Set<string>();
  for (const [sub, topics] of layout.sourcesBySubtopology) {
    for (const topic of topics) for (const p of assignment[topic] ?? []) tasks.add(`${sub}_${p}`);
  }
  return [...tasks].sort();
}
