/**
 * The group's partition assignor for kafkajs: assigns whole tasks (every source
 * partition of one sub-topology partition) rather than single partitions, sticky to
 * what each member ran before, preferring caught-up standbys for tasks that move, and
 * placing standby replicas (see assignment.ts). What members send and receive besides
 * the partitions is in group-protocol.ts.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import { assignWithStandbys, partitionsForTasks, type AssignmentOptions } from './assignment.js';
import {
  decodeMemberUserData,
  encodeAssignmentUserData,
  encodeMemberUserData,
  type MemberEndpoint,
  type MemberUserData,
} from './group-protocol.js';

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

/** What the assignor reads of its own member when it joins, besides its tasks. */
export interface MemberState {
  /** Its standby tasks now, with how far each is behind its changelog. */
  standbys?(): { tasks: string[]; lags: Record<string, number> };
  /** The instance it belongs to (e.g. `host:pid`). */
  client?: string;
  /** Where it serves interactive queries. */
  endpoint?(): string | undefined;
}

export interface AssignorOptions extends AssignmentOptions {
  member?: MemberState;
  /** Whether a task has state (only those get standbys). Default: every task. */
  stateful?: (task: string) => boolean;
}

/** The subscription userData of this member: its tasks, standbys with their lags, endpoint. */
export function memberUserData(currentTasks: string[], member: MemberState = {}): MemberUserData {
  const d: MemberUserData = { previousTasks: currentTasks };
  const standby = member.standbys?.();
  if (standby?.tasks.length) {
    d.standbyTasks = standby.tasks;
    d.taskLags = standby.lags;
  }
  if (member.client) d.client = member.client;
  const endpoint = member.endpoint?.();
  if (endpoint) d.endpoint = endpoint;
  return d;
}

/**
 * Builds the kafkajs assigner. `currentTasks` (and `opts.member`) are read when the member
 * (re)joins, so the leader learns which tasks each member ran and which state it keeps.
 */
export function taskAssignor(
  layout: () => TaskLayout,
  currentTasks: () => string[],
  opts: AssignorOptions = {},
): PartitionAssigner {
  return () => ({
    name: ASSIGNOR_NAME,
    version: 1,
    async assign({ members }) {
      const l = layout();
      const data = new Map(
        members.map((m) => [
          m.memberId,
          decodeMemberUserData(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData),
        ]),
      );
      const infos = members.map((m) => {
        const d = data.get(m.memberId)!;
        return {
          memberId: m.memberId,
          previousTasks: d.previousTasks,
          ...(d.client ? { client: d.client } : {}),
          ...(d.standbyTasks ? { previousStandbys: d.standbyTasks } : {}),
          ...(d.taskLags ? { taskLags: d.taskLags } : {}),
        };
      });
      const { active, standby } = assignWithStandbys(allTasks(l), infos, opts);
      const endpoints: MemberEndpoint[] = members.map((m) => ({
        memberId: m.memberId,
        endpoint: data.get(m.memberId)!.endpoint ?? null,
        client: data.get(m.memberId)!.client ?? null,
        active: active.get(m.memberId) ?? [],
        standby: standby.get(m.memberId) ?? [],
      }));
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: partitionsForTasks(
            active.get(m.memberId) ?? [],
            l.sourcesBySubtopology,
            l.partitionCount,
          ),
          userData: encodeAssignmentUserData({
            tasks: active.get(m.memberId) ?? [],
            standbyTasks: standby.get(m.memberId) ?? [],
            members: endpoints,
          }),
        }),
      }));
    },
    protocol({ topics }) {
      const userData = encodeMemberUserData(memberUserData(currentTasks(), opts.member));
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
