/**
 * The tasks of one stream thread: which exist, which partition feeds which, where each
 * input partition's processing stands, and the steps of a task's life that talk to Kafka
 * (create from local state or a wipe, restore from the changelogs, resume at the committed
 * offsets, close). The thread decides when; this does.
 */
import type { Admin, Kafka } from 'kafkajs';
import { parseTaskId } from './assignment.js';
import type { StreamsConfig } from './config.js';
import type { ConsumerHandle } from './consumer-handle.js';
import { groupByTopic } from './consumer-handle.js';
import type { TaskLayout } from './kafka-assignor.js';
import type { Logger } from './log.js';
import { FetchPositions } from './fetch-positions.js';
import { claimTaskDir, type TaskDirLock } from './instance-dir.js';
import { decodeOffsetMetadata } from './offset-metadata.js';
import {
  logEndOffsets,
  fetchStableOffsets,
  restoreChangelogs,
  type RestoreTarget,
} from './restore.js';
import { StreamTask, type CheckpointIO, type Committer } from './stream-task.js';
import type { TaskEngine } from './task-port.js';

/** Builds a task's engine and its checkpoint access; supplied by the app. */
export interface TaskFactory {
  createEngine(taskId: string): Promise<TaskEngine>;
  checkpoint(taskId: string): CheckpointIO;
}

/** A task's local state opened for a new owner (see openTaskState). */
export interface OpenedTaskState {
  engine: TaskEngine;
  /** The changelog offset per store the local state holds; undefined: it was wiped. */
  checkpoint: Map<string, number> | undefined;
  /** Held until the owner's close has written the checkpoint or wiped the state. */
  dirLock: TaskDirLock;
}

/**
 * Opens task `id`'s local state for a new owner, active or standby. The task directory's
 * lock comes first: it keeps out another stream thread or instance sharing this state
 * directory that still has the task open (it moved here, and the other has not closed it
 * yet; this throws, retriably, and the step is retried), so the checkpoint is read only
 * once it is written, and nothing is wiped under it. With no checkpoint, what the directory
 * holds may be ahead of the changelog (a crash), so it is wiped and the stores opened
 * afresh. `consume`: the checkpoint is removed once read (an active task's is valid once;
 * a standby's stays valid while it runs). On failure nothing stays open or locked.
 */
export async function openTaskState(
  dirs: { stateDir: string; applicationId: string },
  id: string,
  factory: Pick<TaskFactory, 'createEngine'>,
  io: CheckpointIO,
  consume: boolean,
): Promise<OpenedTaskState> {
  const dirLock = claimTaskDir(dirs.stateDir, dirs.applicationId, id);
  let engine: TaskEngine | undefined;
  try {
    engine = await factory.createEngine(id);
    const checkpoint = await io.read();
    if (checkpoint) {
      if (consume) await io.remove();
    } else {
      await engine.close();
      engine = undefined;
      await io.wipe();
      engine = await factory.createEngine(id);
    }
    return { engine, checkpoint, dirLock };
  } catch (err) {
    await engine?.close().catch(() => {});
    dirLock.release();
    throw err;
  }
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export type RestoreObserver = (
  taskId: string,
  store: string,
  restored: number,
  remaining: number,
) => void;

const tp = (topic: string, partition: number) => `${topic}:${partition}`;

export class TaskManager {
  readonly tasks = new Map<string, StreamTask>();
  private readonly byPartition = new Map<string, StreamTask>();
  /**
   * Next offset to process per input partition of a running task; records and batches the
   * consumer hands over that do not continue from there are dropped (see FetchPositions).
   */
  readonly positions = new FetchPositions();
  /**
   * Tasks the latest assignment took away, until closed: they committed before the rejoin
   * and neither process nor punctuate again (a wall-clock punctuation here could change
   * state and emit after their new owner restored it).
   */
  private readonly revoked = new Set<string>();
  /** Tasks this instance was assigned in the latest generation. */
  assigned: string[] = [];

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly config: StreamsConfig,
    private readonly layout: TaskLayout,
    private readonly factory: TaskFactory,
    private readonly log: Logger,
    private readonly exactlyOnce: boolean,
  ) {}

  partitionsOf(taskId: string): TopicPartition[] {
    const { subtopology, partition } = parseTaskId(taskId);
    return (this.layout.sourcesBySubtopology.get(subtopology) ?? [])
      .filter((topic) => partition < this.layout.partitionCount(topic))
      .map((topic) => ({ topic, partition }));
  }

  all(): StreamTask[] {
    return [...this.tasks.values()];
  }

  /** The running task that processes `topic`/`partition`, if any. */
  forPartition(topic: string, partition: number): StreamTask | undefined {
    return this.byPartition.get(tp(topic, partition));
  }

  isRevoked(task: StreamTask): boolean {
    return this.revoked.has(task.id);
  }

  /**
   * A new assignment: tasks it took away stop processing (they are closed by the next
   * reconcile), the others keep their partitions. Returns the tasks to pause (not running
   * here yet) and the positions to seek the kept ones to (the consumer resolves its fetch
   * positions afresh on every join).
   */
  assign(tasks: string[]): {
    pause: TopicPartition[];
    seek: Array<TopicPartition & { offset: number }>;
  } {
    this.assigned = tasks;
    const wanted = new Set(tasks);
    this.revoked.clear();
    for (const t of this.tasks.values()) {
      if (!wanted.has(t.id)) this.revoked.add(t.id);
      for (const p of this.partitionsOf(t.id)) {
        if (wanted.has(t.id)) this.byPartition.set(tp(p.topic, p.partition), t);
        else this.byPartition.delete(tp(p.topic, p.partition));
      }
    }
    const isRunning = (id: string) => this.tasks.get(id)?.state === 'running';
    const pause = tasks.filter((t) => !isRunning(t)).flatMap((t) => this.partitionsOf(t));
    const seek = tasks
      .filter(isRunning)
      .flatMap((t) => this.partitionsOf(t))
      .flatMap((p) => {
        if (!this.positions.has(p.topic, p.partition)) return [];
        return [{ ...p, offset: this.positions.get(p.topic, p.partition) }];
      });
    return { pause, seek };
  }

  /**
   * Creates a task from its local state. A checkpoint is valid once: it is removed while
   * the task runs, so after a crash there is none, and local state that may be ahead of
   * the changelog is wiped before the stores open. Under exactly-once such state may hold
   * writes of a transaction that never committed; under at-least-once, writes whose
   * outputs and changelog records were never sent (the stores are written before the
   * send). Either way the task restores what the changelog holds, so its state never runs
   * ahead of its outputs.
   */
  async create(id: string, committer: Committer): Promise<StreamTask> {
    const checkpointIO = this.factory.checkpoint(id);
    const { engine, checkpoint, dirLock } = await openTaskState(
      this.config,
      id,
      this.factory,
      checkpointIO,
      true,
    );
    const task = new StreamTask(
      id,
      parseTaskId(id).partition,
      engine,
      committer,
      checkpointIO,
      !this.exactlyOnce,
    );
    task.restoredFrom = checkpoint;
    task.dirLock = dirLock;
    task.transition('restoring', 'created');
    this.tasks.set(id, task);
    for (const p of this.partitionsOf(id)) this.byPartition.set(tp(p.topic, p.partition), task);
    return task;
  }

  async close(task: StreamTask, clean: boolean): Promise<void> {
    this.tasks.delete(task.id);
    this.revoked.delete(task.id);
    for (const p of this.partitionsOf(task.id)) {
      this.byPartition.delete(tp(p.topic, p.partition));
      this.positions.delete(p.topic, p.partition);
    }
    try {
      if (clean) {
        try {
          await task.closeClean();
          return;
        } catch (err) {
          this.log.warn('task could not commit on close; closing it dirty', {
            task: task.id,
            error: err,
          });
        }
      }
      await task.closeDirty();
    } finally {
      // Only once the checkpoint is written or the state wiped may the next owner open it.
      task.dirLock?.release();
    }
  }

  /**
   * Exactly-once: waits until no transaction holds offsets of these tasks' partitions
   * (OffsetFetch with require_stable, KIP-447). The previous owner of a task may have sent
   * its offsets in a transaction it has not ended yet (it was stopped mid-commit, or
   * crashed): the task must not read offsets or changelogs that transaction may still
   * change. It ends when its owner commits or aborts it, or at its transaction timeout.
   * Called before restoring, so the changelogs' ends are taken after it.
   */
  async awaitStableOffsets(tasks: StreamTask[]): Promise<void> {
    if (!this.exactlyOnce || !tasks.length) return;
    const topics = groupByTopic(tasks.flatMap((t) => this.partitionsOf(t.id)));
    await fetchStableOffsets(this.admin, this.config.applicationId, topics, {
      timeoutMs: this.config.transactionTimeout + 60_000,
      onWait: () =>
        this.log.info('waiting for an open transaction that holds offsets of new tasks', {
          tasks: tasks.map((t) => t.id),
        }),
    });
  }

  /** Restores every task's logged stores from its checkpoint to the changelog's end, then initialises its processors. */
  async restore(tasks: StreamTask[], onRestore?: RestoreObserver): Promise<void> {
    const targets = await this.restoreTargets(tasks, onRestore);
    const t0 = Date.now();
    const n = await restoreChangelogs(this.kafka, this.config.applicationId, targets, {
      fetchMaxBytes: this.config.restoreFetchMaxBytes,
    });
    if (n)
      this.log.info('restored', { tasks: tasks.map((t) => t.id), records: n, ms: Date.now() - t0 });
    // Processors initialise after restore, so they see the restored state.
    for (const task of tasks) {
      if (task.state === 'closed') continue;
      await task.engine.init();
      task.restoreDone = true;
    }
  }

  private async restoreTargets(
    tasks: StreamTask[],
    onRestore?: RestoreObserver,
  ): Promise<RestoreTarget[]> {
    const topics = new Set<string>();
    for (const task of tasks)
      for (const s of task.engine.stores) if (s.changelogTopic) topics.add(s.changelogTopic);
    const ends = topics.size
      ? await logEndOffsets(this.admin, [...topics])
      : new Map<string, number>();
    const targets: RestoreTarget[] = [];
    for (const task of tasks) {
      for (const s of task.engine.stores) {
        if (!s.changelogTopic) continue;
        const end = ends.get(tp(s.changelogTopic, task.partition)) ?? 0;
        const from = Math.min(task.restoredFrom?.get(s.name) ?? 0, end);
        task.changelogPositions.set(s.name, end);
        task.stats.restoreRemaining += end - from;
        targets.push({
          topic: s.changelogTopic,
          partition: task.partition,
          fromOffset: from,
          endOffset: end,
          apply: async (records) => {
            // Revoked while restoring: close() takes the task out of `tasks` first, then
            // closes its stores, then marks it closed; a batch in flight may meet the
            // closed store, and what it restores is of no use any more.
            const gone = () => this.tasks.get(task.id) !== task || task.state === 'closed';
            if (gone()) return;
            try {
              await s.store.restore(records);
            } catch (err) {
              if (gone()) return;
              throw err;
            }
            task.stats.restored += records.length;
            task.stats.restoreRemaining = Math.max(0, task.stats.restoreRemaining - records.length);
            onRestore?.(task.id, s.name, task.stats.restored, task.stats.restoreRemaining);
          },
        });
      }
    }
    return targets;
  }

  /** Seeks the task's partitions to their committed offsets and lets records flow. */
  async resume(task: StreamTask, consumer: ConsumerHandle): Promise<void> {
    const parts = this.partitionsOf(task.id);
    const topics = [...new Set(parts.map((p) => p.topic))];
    const committed = await this.admin.fetchOffsets({ groupId: this.config.applicationId, topics });
    let streamTime: number | undefined;
    for (const { topic, partition } of parts) {
      const c = committed
        .find((t) => t.topic === topic)
        ?.partitions.find((p) => p.partition === partition);
      const t = decodeOffsetMetadata(c?.metadata);
      if (t !== undefined) streamTime = Math.max(streamTime ?? -1, t);
      const offset =
        c && Number(c.offset) >= 0 ? Number(c.offset) : await this.logStart(topic, partition);
      consumer.seek(topic, partition, offset);
      this.positions.set(topic, partition, offset);
    }
    // The stream time committed with the offsets (the task's clock when its state was
    // committed), so windows closed before a move or a crash stay closed.
    if (streamTime !== undefined) task.engine.resumeStreamTime?.(streamTime);
    task.transition('running', 'restored and sought to its committed offsets');
    consumer.resume(groupByTopic(parts));
  }

  /** The first offset still in the partition's log. */
  async logStart(topic: string, partition: number): Promise<number> {
    const low = (await this.admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition);
    return Number(low?.low ?? 0);
  }
}
