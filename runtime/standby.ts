/**
 * Standby tasks (Kafka Streams' standby replicas): warm copies of tasks another instance
 * runs. A standby opens the task's stores in this instance's state directory, keeps taking
 * the committed records of the task's changelogs (runtime/standby-reader.ts), never
 * processes nor commits, and checkpoints its position. Its state is always a prefix of the
 * committed changelog (read_committed; replaying records it already holds changes nothing),
 * so its checkpoint stays valid while it runs, and a restart resumes from it.
 *
 * When the group makes a standby's task active here, the standby closes first (its
 * checkpoint written) and the active task is created from that checkpoint the way any
 * checkpointed task is (runtime/task-manager.ts): it restores only the changelog's tail.
 * When an active task moves away and becomes a standby here, it closes (clean: checkpoint
 * written; dirty: state wiped) before the standby opens its stores.
 *
 * A standby is never read as fresh: interactive queries answer from one only when the
 * client accepts stale data, and say how far behind it is.
 */
import type { Admin, Kafka } from 'kafkajs';
import { parseTaskId } from './assignment.js';
import type { StreamsConfig } from './config.js';
import { STANDBY_TRANSITIONS, type StandbyState } from './lifecycle.js';
import type { Logger } from './log.js';
import { endOffsets, type RestoreRecordOut } from './restore.js';
import { StandbyReader, type StandbySink } from './standby-reader.js';
import { StateMachine } from './state-machine.js';
import type { TaskDirLock } from './instance-dir.js';
import type { CheckpointIO } from './stream-task.js';
import { openTaskState } from './task-manager.js';
import type { TaskEngine, TaskStore } from './task-port.js';

/** Opens a task's stores (an engine whose processors are never initialised) and its checkpoint. */
export interface StandbyFactory {
  createEngine(taskId: string): Promise<TaskEngine>;
  checkpoint(taskId: string): CheckpointIO;
}

/** How often a standby's position is checkpointed while it changes. */
const CHECKPOINT_EVERY_MS = 10_000;

const tp = (topic: string, partition: number) => `${topic}:${partition}`;

/** One logged store of a standby, with where its copy stands. */
export interface StandbyStore {
  name: string;
  changelogTopic: string;
  /** Next changelog offset to apply. */
  position: number;
  /** The changelog partition's end (high watermark) as last seen; undefined until known. */
  end: number | undefined;
}

export class StandbyTask {
  private readonly lifecycle: StateMachine<StandbyState>;
  readonly stores: StandbyStore[];
  /** Records applied since the standby was created here. */
  applied = 0;
  private applying: Promise<unknown> = Promise.resolve();
  private checkpointedAt = 0;
  private dirty = false;
  /** The task directory's lock (runtime/instance-dir.ts), given up once the standby is closed. */
  dirLock: TaskDirLock | undefined;

  constructor(
    readonly id: string,
    readonly engine: TaskEngine,
    private readonly checkpointIO: CheckpointIO,
    positions: ReadonlyMap<string, number>,
  ) {
    this.lifecycle = new StateMachine(`standby ${id}`, STANDBY_TRANSITIONS, 'created');
    this.stores = engine.stores
      .filter((s): s is TaskStore & { changelogTopic: string } => !!s.changelogTopic)
      .map((s) => ({
        name: s.name,
        changelogTopic: s.changelogTopic,
        position: positions.get(s.name) ?? 0,
        end: undefined,
      }));
  }

  get state(): StandbyState {
    return this.lifecycle.state;
  }

  get partition(): number {
    return parseTaskId(this.id).partition;
  }

  transition(next: StandbyState, event: string): void {
    this.lifecycle.to(next, event);
  }

  /** Changelog records its stores are behind the ends last seen; undefined while an end is unknown. */
  get lag(): number | undefined {
    let lag = 0;
    for (const s of this.stores) {
      if (s.end === undefined) return undefined;
      lag += Math.max(0, s.end - s.position);
    }
    return lag;
  }

  /** Applies one changelog partition's records (in order, serialised with the others). */
  apply(store: StandbyStore, records: RestoreRecordOut[]): Promise<void> {
    const run = async () => {
      if (this.state !== 'running') return;
      const s = this.engine.stores.find((x) => x.name === store.name)!;
      await s.store.restore(records);
      store.position = Math.max(store.position, records[records.length - 1]!.offset + 1);
      this.applied += records.length;
      this.dirty = true;
    };
    const next = this.applying.then(run);
    this.applying = next.catch(() => {});
    return next;
  }

  /** Moves a store's position past records that held nothing to apply (markers, aborted records). */
  advance(store: StandbyStore, next: number): void {
    const run = () => {
      if (next <= store.position) return;
      store.position = next;
      this.dirty = true;
    };
    this.applying = this.applying.then(run, run);
  }

  /** Writes the checkpoint when the position moved and the last one is old enough (or `force`). */
  async checkpoint(force = false): Promise<void> {
    await this.applying;
    if (!this.dirty || (!force && Date.now() - this.checkpointedAt < CHECKPOINT_EVERY_MS)) return;
    this.dirty = false;
    this.checkpointedAt = Date.now();
    await this.checkpointIO.write(new Map(this.stores.map((s) => [s.name, s.position])));
  }

  /** Closes the stores; clean: the checkpoint written first; dirty: the local state wiped. */
  async close(clean: boolean): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.transition('closed', clean ? 'closed clean' : 'closed dirty');
    await this.applying;
    if (clean && wasRunning) {
      this.dirty = true;
      await this.checkpoint(true).catch(() => (clean = false));
    }
    await this.engine.close().catch(() => {});
    if (!clean) await this.checkpointIO.wipe();
  }
}

/** What `standbyLags()` reports to the group when the member joins. */
export interface StandbyLags {
  tasks: string[];
  lags: Record<string, number>;
}

/**
 * The standby tasks of one stream thread: which the latest assignment wants, and the
 * reader that feeds them. The thread calls `assign` with each assignment, `release` before
 * it creates active tasks, `reconcile` after, and `close` when it stops.
 */
export class StandbyManager implements StandbySink {
  readonly tasks = new Map<string, StandbyTask>();
  private readonly byPartition = new Map<string, { task: StandbyTask; store: StandbyStore }>();
  private wanted: string[] = [];
  private readonly reader: StandbyReader;
  private timer?: NodeJS.Timeout;

  private readonly dirs: { stateDir: string; applicationId: string };

  constructor(
    kafka: Kafka,
    private readonly admin: Admin,
    config: StreamsConfig,
    private readonly factory: StandbyFactory,
    private readonly log: Logger,
  ) {
    this.dirs = config;
    this.reader = new StandbyReader(kafka, config.applicationId, this, {
      fetchMaxBytes: config.restoreFetchMaxBytes,
      log,
    });
  }

  /** The standby tasks the latest assignment gives this member. */
  assign(standbyTasks: readonly string[]): void {
    this.wanted = [...standbyTasks];
  }

  /** Standbys (and their lags) to report when the member joins. */
  lags(): StandbyLags {
    const out: StandbyLags = { tasks: [], lags: {} };
    for (const t of this.tasks.values()) {
      if (t.state !== 'running') continue;
      out.tasks.push(t.id);
      const lag = t.lag;
      if (lag !== undefined) out.lags[t.id] = lag;
    }
    return out;
  }

  /** Closes (clean) the standbys of tasks about to become active here, so they start from their checkpoints. */
  async release(active: readonly string[]): Promise<void> {
    const promoted = active.filter((id) => this.tasks.has(id));
    for (const id of promoted) await this.closeTask(this.tasks.get(id)!, true);
    if (promoted.length) {
      this.log.info('standby tasks become active', { tasks: promoted });
      await this.reader.update(this.partitions());
    }
  }

  /**
   * Brings the standbys in line with the latest assignment, once the thread's active tasks
   * are: closes those no longer wanted, opens the wanted ones not active here.
   */
  async reconcile(activeHere: ReadonlySet<string>): Promise<void> {
    const wanted = new Set(this.wanted.filter((id) => !activeHere.has(id)));
    let changed = false;
    for (const t of [...this.tasks.values()])
      if (!wanted.has(t.id)) {
        await this.closeTask(t, true);
        changed = true;
      }
    if (changed) await this.reader.update(this.partitions());
    const created: StandbyTask[] = [];
    for (const id of wanted) {
      if (this.tasks.has(id)) continue;
      try {
        created.push(await this.create(id));
      } catch (err) {
        this.log.warn('could not open a standby task; it is left out until the next rebalance', {
          task: id,
          error: err,
        });
      }
    }
    if (created.length) {
      await this.learnEnds(created);
      this.log.info('standby tasks', {
        created: created.map((t) => t.id),
        all: [...this.tasks.keys()],
      });
    }
    if (created.length || changed) await this.reader.update(this.partitions());
    this.timer ??= setInterval(() => void this.checkpointAll(false), CHECKPOINT_EVERY_MS).unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.reader.close();
    for (const t of [...this.tasks.values()]) await this.closeTask(t, true);
  }

  // --- StandbySink ---------------------------------------------------------------

  position(topic: string, partition: number): number | undefined {
    return this.byPartition.get(tp(topic, partition))?.store.position;
  }

  async apply(topic: string, partition: number, records: RestoreRecordOut[]): Promise<void> {
    const hit = this.byPartition.get(tp(topic, partition));
    if (!hit) return;
    try {
      await hit.task.apply(hit.store, records);
    } catch (err) {
      // A copy that could not take a record is no copy: wiped, and opened again at the next rebalance.
      this.log.error('standby task failed to apply its changelog; its copy is wiped', {
        task: hit.task.id,
        store: hit.store.name,
        error: err,
      });
      await this.closeTask(hit.task, false);
      await this.reader.update(this.partitions());
    }
  }

  fetched(topic: string, partition: number, next: number | undefined, end: number): void {
    const hit = this.byPartition.get(tp(topic, partition));
    if (!hit) return;
    hit.store.end = end;
    // A batch of markers only (or of aborted records) moves the position past them.
    if (next !== undefined) hit.task.advance(hit.store, next);
  }

  // --- internals ------------------------------------------------------------------

  private async create(id: string): Promise<StandbyTask> {
    const io = this.factory.checkpoint(id);
    // As an active task's (runtime/task-manager.ts), but its checkpoint stays: a standby's
    // state is a prefix of the committed changelog while it runs.
    const { engine, checkpoint, dirLock } = await openTaskState(
      this.dirs,
      id,
      this.factory,
      io,
      false,
    );
    const task = new StandbyTask(id, engine, io, checkpoint ?? new Map());
    task.dirLock = dirLock;
    task.transition('running', checkpoint ? 'opened from its checkpoint' : 'opened empty');
    this.tasks.set(id, task);
    for (const s of task.stores)
      this.byPartition.set(tp(s.changelogTopic, task.partition), { task, store: s });
    return task;
  }

  private async closeTask(task: StandbyTask, clean: boolean): Promise<void> {
    if (this.tasks.get(task.id) === task) this.tasks.delete(task.id);
    for (const s of task.stores) {
      const k = tp(s.changelogTopic, task.partition);
      if (this.byPartition.get(k)?.task === task) this.byPartition.delete(k);
    }
    await task
      .close(clean)
      .catch((err: unknown) =>
        this.log.warn('standby task did not close cleanly', { task: task.id, error: err }),
      );
    task.dirLock?.release();
  }

  private partitions(): Array<{ topic: string; partition: number }> {
    return [...this.tasks.values()].flatMap((t) =>
      t.stores.map((s) => ({ topic: s.changelogTopic, partition: t.partition })),
    );
  }

  /** The changelogs' ends, so a new standby's lag is known before its first fetch. */
  private async learnEnds(tasks: StandbyTask[]): Promise<void> {
    const topics = [...new Set(tasks.flatMap((t) => t.stores.map((s) => s.changelogTopic)))];
    if (!topics.length) return;
    try {
      const ends = await endOffsets(this.admin, topics);
      for (const t of tasks)
        for (const s of t.stores) s.end ??= ends.get(tp(s.changelogTopic, t.partition));
    } catch (err) {
      this.log.debug('could not read the changelogs’ ends for new standbys', { error: err });
    }
  }

  private async checkpointAll(force: boolean): Promise<void> {
    for (const t of this.tasks.values())
      await t
        .checkpoint(force)
        .catch((err: unknown) =>
          this.log.warn('standby checkpoint failed', { task: t.id, error: err }),
        );
  }
}
