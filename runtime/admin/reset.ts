/**
 * `millrace reset`: Kafka Streams' application reset tool, for a millrace app. With no
 * member in the group it
 *  1. commits the group's offsets on the input topics to the earliest offset (or to the
 *     first record at or after a timestamp),
 *  2. deletes the app's internal topics (the changelog and repartition topics its
 *     topology declares; nothing else),
 *  3. removes the app's local state (`<stateDir>/<applicationId>`),
 * so that the next run recomputes everything from the inputs. `planReset` decides what
 * to do (pure); `applyReset` does it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { StreamsError } from '../errors.js';
import { looksInternal, type AppTopics } from './app-topics.js';
import { decodeMembers, fetchOffsets, type GroupMember, type PartitionOffsets } from './status.js';

export type ResetTarget = { kind: 'earliest' } | { kind: 'timestamp'; timestamp: number };

export interface ResetInput {
  app: AppTopics;
  target: ResetTarget;
  members: GroupMember[];
  existingTopics: string[];
  /** Current offsets of the existing input topics. */
  current: ReadonlyMap<string, PartitionOffsets[]>;
  /** Offset to commit per input partition (from the log start or a timestamp look-up). */
  targets: ReadonlyMap<string, Array<{ partition: number; offset: number }>>;
  stateDir: string;
  stateDirExists: boolean;
}

export interface OffsetChange {
  topic: string;
  partition: number;
  /** Committed offset now (null: none). */
  from: number | null;
  to: number;
}

export interface ResetPlan {
  applicationId: string;
  target: ResetTarget;
  offsets: OffsetChange[];
  /** Internal topics of this app that exist and will be deleted. */
  deleteTopics: string[];
  /** Topics named like this app's internal topics that its topology does not declare: left alone. */
  keptTopics: string[];
  /** Input topics the topology names that do not exist (nothing to rewind). */
  missingInputs: string[];
  /** The app's local state directory to remove, or null when there is none. */
  removeStateDir: string | null;
}

/** The app's directory under the state dir; refuses ids that would escape it. */
export function appStateDir(stateDir: string, applicationId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(applicationId) || /^\.+$/.test(applicationId))
    throw new StreamsError(
      `"${applicationId}" is not an application id; use letters, digits, ".", "_" or "-" (not only dots)`,
      { code: 'CONFIG_INVALID', domain: 'user' },
    );
  return path.join(stateDir, applicationId);
}

/** The error a reset gives while instances of the app are running. */
export function activeMembersError(applicationId: string, members: GroupMember[]): StreamsError {
  const who = members.map((m) => `${m.clientId}@${m.host} (member ${m.memberId})`).join(', ');
  return new StreamsError(
    `application ${applicationId} still has ${members.length} active member(s) in its consumer group: ${who}; ` +
      `stop every instance of the app (SIGTERM lets it commit and leave the group), wait until ` +
      `\`millrace status\` shows no members, then run the reset again`,
    { code: 'GROUP_ACTIVE', domain: 'user' },
  );
}

/** Pure: what a reset would do. Throws while the group has members. */
export function planReset(input: ResetInput): ResetPlan {
  const { app } = input;
  if (input.members.length) throw activeMembersError(app.applicationId, input.members);
  const existing = new Set(input.existingTopics);
  const declared = new Set(app.internalTopics);
  const offsets: OffsetChange[] = [];
  for (const topic of app.inputTopics) {
    const now = input.current.get(topic) ?? [];
    for (const t of [...(input.targets.get(topic) ?? [])].sort((a, b) => a.partition - b.partition))
      offsets.push({
        topic,
        partition: t.partition,
        from: now.find((p) => p.partition === t.partition)?.committed ?? null,
        to: t.offset,
      });
  }
  return {
    applicationId: app.applicationId,
    target: input.target,
    offsets,
    deleteTopics: app.internalTopics.filter((t) => existing.has(t)).sort(),
    keptTopics: input.existingTopics
      .filter((t) => looksInternal(t, app.applicationId) && !declared.has(t))
      .sort(),
    missingInputs: app.inputTopics.filter((t) => !existing.has(t)),
    removeStateDir: input.stateDirExists ? appStateDir(input.stateDir, app.applicationId) : null,
  };
}

/** Where each partition of `topic` would start: its log start, or the first record at/after `ts`. */
async function targetOffsets(
  admin: Admin,
  topic: string,
  target: ResetTarget,
): Promise<Array<{ partition: number; offset: number }>> {
  if (target.kind === 'earliest')
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      offset: Number(p.low),
    }));
  // kafkajs answers the end offset for a partition with no record at or after `ts`.
  return (await admin.fetchTopicOffsetsByTimestamp(topic, target.timestamp)).map((p) => ({
    partition: p.partition,
    offset: Number(p.offset),
  }));
}

/** The group's members; throws (naming them) when there are any. */
async function requireNoMembers(admin: Admin, applicationId: string): Promise<GroupMember[]> {
  const { groups } = await admin.describeGroups([applicationId]);
  const members = groups[0] ? decodeMembers(groups[0]) : [];
  if (members.length) throw activeMembersError(applicationId, members);
  return members;
}

/** Reads what `planReset` needs from the cluster and the state dir, and plans. */
export async function fetchResetPlan(
  admin: Admin,
  app: AppTopics,
  target: ResetTarget,
  stateDir: string,
): Promise<ResetPlan> {
  const members = await requireNoMembers(admin, app.applicationId);
  const existingTopics = await admin.listTopics();
  const inputs = app.inputTopics.filter((t) => existingTopics.includes(t));
  const targets = new Map<string, Array<{ partition: number; offset: number }>>();
  for (const t of inputs) targets.set(t, await targetOffsets(admin, t, target));
  return planReset({
    app,
    target,
    members,
    existingTopics,
    current: await fetchOffsets(admin, app.applicationId, inputs),
    targets,
    stateDir,
    stateDirExists: fs.existsSync(appStateDir(stateDir, app.applicationId)),
  });
}

/** Carries out a plan. `progress` hears one line per step (and while waiting on deletions). */
export async function applyReset(
  admin: Admin,
  plan: ResetPlan,
  progress: (line: string) => void = () => {},
): Promise<void> {
  const byTopic = new Map<string, OffsetChange[]>();
  for (const o of plan.offsets)
    (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic)!).push(o);
  for (const [topic, parts] of byTopic) {
    progress(`committing offsets of ${topic} (${parts.length} partitions)`);
    try {
      await admin.setOffsets({
        groupId: plan.applicationId,
        topic,
        partitions: parts.map((p) => ({ partition: p.partition, offset: String(p.to) })),
      });
    } catch (err) {
      throw new StreamsError(
        `could not commit offsets for ${topic}: ${(err as Error).message}; ` +
          'if an instance of the app started meanwhile, stop it and run the reset again',
        { code: 'RESET_OFFSETS_FAILED', domain: 'external', cause: err },
      );
    }
  }
  // An instance may have started since the plan was made: never delete under a running app.
  await requireNoMembers(admin, plan.applicationId);
  if (plan.deleteTopics.length) {
    progress(`deleting ${plan.deleteTopics.length} internal topic(s)`);
    await admin.deleteTopics({ topics: plan.deleteTopics });
    await waitUntilGone(admin, plan.deleteTopics, progress);
  }
  if (plan.removeStateDir) {
    progress(`removing local state ${plan.removeStateDir}`);
    await fs.promises.rm(plan.removeStateDir, { recursive: true, force: true });
  }
}

/** Topic deletion finishes in the background; the next run must not find them half gone. */
export async function waitUntilGone(
  admin: Admin,
  topics: string[],
  progress: (line: string) => void,
  timeoutMs = 60_000,
): Promise<void> {
  const t0 = Date.now();
  let lastSaid = t0;
  for (;;) {
    const left = new Set(await admin.listTopics());
    const pending = topics.filter((t) => left.has(t));
    if (!pending.length) return;
    if (Date.now() - t0 > timeoutMs)
      throw new StreamsError(
        `topics ${pending.join(', ')} were not deleted within ${timeoutMs / 1000}s; check the broker logs, then run the reset again`,
        { code: 'RESET_DELETE_TIMEOUT', domain: 'external', retriable: true },
      );
    if (Date.now() - lastSaid > 2000) {
      progress(`waiting for ${pending.length} topic(s) to be deleted`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
