/**
 * A task at runtime: one partition of one sub-topology, its engine (routing, stores,
 * punctuation) and how its commits leave (its part of the instance's transaction under
 * exactly-once, the shared producer plus a consumer offset commit under at-least-once).
 */
import type { TaskDirLock } from './instance-dir.js';
import { OffsetsNotCommittedError } from './errors.js';
import type { OffsetToCommit, OutgoingRecord, WrittenOffsets } from './producers.js';
import type { RawRecord, TaskEngine } from './task-port.js';
import { TASK_TRANSITIONS, type TaskState } from './lifecycle.js';
import { StateMachine } from './state-machine.js';

export type { TaskState } from './lifecycle.js';

/** Sends a task's records and commits its offsets; returns the last offset written per partition. */
export interface Committer {
  commit(
    records: readonly OutgoingRecord[],
    offsets: readonly OffsetToCommit[],
  ): Promise<WrittenOffsets>;
  close(): Promise<void>;
  /** Told when the task has new work since its last commit (to get the next one ready). */
  prepare?(): void;
  /**
   * Sends what `commit` was handed, when the committer gathers the commits of several
   * tasks into one transaction (exactly-once); the thread calls it once it has started the
   * commits of every task it commits together.
   */
  flush?(): void;
}

/** Where a task keeps its checkpoint: the changelog offset each store has reached. */
export interface CheckpointIO {
  read(): Promise<Map<string, number> | undefined>;
  write(offsets: Map<string, number>): Promise<void>;
  remove(): Promise<void>;
  /** Delete the task's local state (after an unclean stop, under either guarantee). */
  wipe(): Promise<void>;
}

export interface TaskStats {
  processed: number;
  commits: number;
  lastCommitMs: number;
  restored: number;
  restoreRemaining: number;
  /** Records committed to each topic (outputs, repartition, changelogs, dead letters) since the task was created. */
  produced: Map<string, number>;
}

export class StreamTask {
  private readonly lifecycle: StateMachine<TaskState>;
  readonly stats: TaskStats = {
    processed: 0,
    commits: 0,
    lastCommitMs: 0,
    restored: 0,
    restoreRemaining: 0,
    produced: new Map(),
  };
  /** Next changelog offset per store (for the checkpoint). */
  readonly changelogPositions = new Map<string, number>();
  private uncommitted = false;
  private sinceCommit = 0;
  /**
   * What a failed commit could not write or commit, carried into the next commit: the
   * engine drained these records already, so dropping them would lose them (at-least-once
   * goes on after a failed commit; exactly-once closes the task instead).
   */
  private unsent: OutgoingRecord[] = [];
  /** When the task last started a commit (Date.now()). */
  lastCommitStarted = 0;
  /** When the task's commits started failing (Date.now()); undefined while they succeed. */
  commitFailingSince: number | undefined;
  private uncommittedOffsets: OffsetToCommit[] = [];
  /** Records sent ahead of the coming commit, per topic (counted as produced when it commits). */
  private sentAhead = new Map<string, number>();
  /** The commit being sent, if any (see startCommit). */
  private inflight: Promise<void> | undefined;
  /** The committer was told of work since the last commit (see Committer.prepare). */
  private preparing = false;
  /** An exactly-once commit that failed: the task cannot commit again. */
  private failure: unknown;
  /** The checkpoint the task started from (changelog offset per store), if any. */
  restoredFrom: Map<string, number> | undefined;
  /** The task directory's lock (runtime/instance-dir.ts), given up by the task manager once the task is closed. */
  dirLock: TaskDirLock | undefined;
  /** Stores restored and processors initialised: ready to resume. */
  restoreDone = false;
  restoreInProgress = false;

  constructor(
    readonly id: string,
    readonly partition: number,
    readonly engine: TaskEngine,
    private readonly committer: Committer,
    readonly checkpoint: CheckpointIO,
    /**
     * At-least-once: a failed commit keeps its records and offsets for the next one.
     * Exactly-once: a failed commit ends the task's commits (it is closed dirty).
     */
    private readonly retryFailedCommits = true,
  ) {
    this.lifecycle = new StateMachine(`task ${id}`, TASK_TRANSITIONS, 'created');
  }

  /** created, restoring, running, suspended or closed (see runtime/lifecycle.ts). */
  get state(): TaskState {
    return this.lifecycle.state;
  }

  /** Moves the task to `next` because of `event`; an illegal move throws, naming both states. */
  transition(next: TaskState, event: string): void {
    this.lifecycle.to(next, event);
  }

  /** True when records were processed (or punctuations ran) that are not committed yet. */
  get hasUncommitted(): boolean {
    return this.uncommitted || this.inflight !== undefined;
  }

  /** Records processed since the last successful commit (their outputs wait for it). */
  get uncommittedRecords(): number {
    return this.sinceCommit;
  }

  /**
   * The consumer moved past offsets of `topic:partition` that hold no record (transaction
   * markers, aborted records) up to `next`: the next commit commits that far, so that the
   * group's committed offset reaches the log's end when the task has caught up (as the Java
   * consumer's position does) instead of staying one marker short of it for good.
   */
  readPast(topic: string, partition: number, next: number): void {
    if (this.state !== 'running' || !this.engine.consumedUpTo) return;
    this.engine.consumedUpTo(topic, partition, next);
    this.uncommitted = true;
  }

  /** Processes consumed records in order; awaits only when a processor was asynchronous. */
  async process(records: readonly RawRecord[]): Promise<void> {
    if (records.length && !this.preparing) {
      this.preparing = true;
      this.committer.prepare?.();
    }
    // (indexed: a for-of across an await allocates an iterator result per record)
    for (let i = 0; i < records.length; i++) {
      const pending = this.engine.process(records[i]!);
      if (pending) await pending;
    }
    this.stats.processed += records.length;
    this.sinceCommit += records.length;
    // The engine tracks the next offset to consume per input partition (batch.offsets).
    if (records.length) this.uncommitted = true;
  }

  async punctuate(now: number): Promise<void> {
    const pending = this.engine.punctuateWallClock(now);
    if (pending) await pending;
    this.uncommitted = true;
  }

  /** Records produced since the last commit that are still held (not sent ahead). */
  get heldOutputs(): number {
    return this.engine.pendingOutputs ?? 0;
  }

  /**
   * Exactly-once: takes what the task produced since its last commit, for the thread to
   * send into the transaction the coming commit will end (see Committer.sendAhead), so it
   * leaves memory, and the commit's path, early. The task's offsets still go with that
   * commit. Call only when such a transaction is open (the records are not kept).
   */
  takeAhead(): readonly OutgoingRecord[] {
    if (this.state !== 'running' || this.failure !== undefined) return [];
    if (!this.engine.pendingOutputs || !this.engine.takeOutputs) return [];
    const records = this.engine.takeOutputs();
    countByTopic(records, this.sentAhead);
    return records;
  }

  /** Settles when the commit in flight, if any, has (whatever its outcome). */
  async settled(): Promise<void> {
    await this.inflight?.catch(() => {});
  }

  /** True while a commit this task started is being sent. */
  get committing(): boolean {
    return this.inflight !== undefined;
  }

  /**
   * Starts a commit of what happened since the last one: drains the engine (its stores
   * are written, its outputs, changelog records and offsets taken) and sends them without
   * waiting for the broker. Records processed meanwhile belong to the next commit, so the
   * task keeps processing while its transaction is in flight; one commit is in flight at
   * a time. Resolves, once the engine is drained, with the send (undefined when there was
   * nothing to commit), wrapped so that awaiting this does not await it; the send rejects
   * if the commit failed.
   */
  async startCommit(): Promise<{ send: Promise<void> } | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (this.inflight) throw new Error(`task ${this.id}: a commit is already in flight`);
    if (!this.uncommitted || this.state !== 'running') return undefined;
    const t0 = performance.now();
    const batch = await this.engine.prepareCommit();
    // Outputs before changelogs: if the process dies between two chunks of the send, the
    // restored state is behind the outputs (a replay repeats outputs) and never ahead of
    // them (which would skip outputs).
    const records: OutgoingRecord[] = this.unsent.length
      ? [...this.unsent, ...batch.records]
      : batch.records;
    this.unsent = [];
    const written = Date.now();
    for (const c of batch.changelogs) {
      for (const r of c.records)
        records.push({
          topic: c.topic,
          partition: this.partition,
          key: r.key,
          value: r.value,
          timestamp: changelogTimestamp(r.timestamp, written),
        });
    }
    const offsets = latestPerPartition(this.uncommittedOffsets, batch.offsets);
    this.uncommittedOffsets = [];
    // What is processed from here on is the next commit's.
    this.preparing = false;
    this.uncommitted = false;
    this.sinceCommit = 0;
    if (!records.length && !offsets.length) return undefined;
    const send = this.send(records, offsets, t0);
    const inflight = send.finally(() => {
      if (this.inflight === inflight) this.inflight = undefined;
    });
    inflight.catch(() => {}); // the caller hears the failure through `send`
    this.inflight = inflight;
    return { send };
  }

  private async send(
    records: OutgoingRecord[],
    offsets: OffsetToCommit[],
    t0: number,
  ): Promise<void> {
    // What went ahead into this commit's transaction counts once it commits.
    const ahead = this.sentAhead;
    this.sentAhead = new Map();
    let written: WrittenOffsets;
    try {
      written = await this.committer.commit(records, offsets);
    } catch (err) {
      this.commitFailingSince ??= Date.now();
      if (!this.retryFailedCommits) {
        // Exactly-once: the transaction was aborted while the stores kept its writes; the
        // task must not commit again (it is closed, and its state rebuilt from the changelog).
        this.failure = err;
        throw err;
      }
      // At-least-once: keep what could not be written or committed for the next commit
      // (ahead of anything processed meanwhile, which the engine still holds).
      if (err instanceof OffsetsNotCommittedError) this.advanceChangelogPositions(err.written);
      else this.unsent = [...records, ...this.unsent];
      this.uncommittedOffsets = latestPerPartition(offsets, this.uncommittedOffsets);
      this.uncommitted = true;
      throw err;
    }
    this.commitFailingSince = undefined;
    this.advanceChangelogPositions(written);
    this.stats.commits++;
    countByTopic(records, this.stats.produced);
    for (const [topic, n] of ahead)
      this.stats.produced.set(topic, (this.stats.produced.get(topic) ?? 0) + n);
    this.stats.lastCommitMs = performance.now() - t0;
  }

  /**
   * Commits everything processed so far and waits for it: the commit in flight, if any,
   * then the rest. Under exactly-once a failed commit in flight fails this too; under
   * at-least-once what it could not send is sent again here.
   */
  async commit(): Promise<void> {
    if (this.inflight) {
      try {
        await this.inflight;
      } catch (err) {
        if (!this.retryFailedCommits) throw err;
      }
    }
    const started = await this.startCommit();
    if (started) {
      this.committer.flush?.();
      await started.send;
    }
  }

  private advanceChangelogPositions(written: WrittenOffsets): void {
    for (const s of this.engine.stores) {
      if (!s.changelogTopic) continue;
      const last = written.get(`${s.changelogTopic}:${this.partition}`);
      if (last !== undefined) this.changelogPositions.set(s.name, last + 1);
    }
  }

  /** Commit, record the checkpoint and close: the task can resume here without restoring. */
  async closeClean(): Promise<void> {
    if (this.state === 'running') await this.commit();
    await this.engine.close();
    if (this.state === 'running') await this.checkpoint.write(this.changelogPositions);
    await this.committer.close();
    this.transition('closed', 'closed clean');
  }

  /**
   * Close without committing (fenced, or failed). Local state may hold writes that never
   * reached the changelog (an aborted transaction, or a send that failed): it is wiped, and
   * rebuilt from the changelog by whoever runs the task next.
   */
  async closeDirty(): Promise<void> {
    await this.engine.close().catch(() => {});
    await this.committer.close();
    await this.checkpoint.wipe();
    this.transition('closed', 'closed dirty');
  }
}

/** The offsets of `b`, plus those of `a` for partitions `b` does not mention. */
function latestPerPartition(
  a: readonly OffsetToCommit[],
  b: readonly OffsetToCommit[],
): OffsetToCommit[] {
  if (!a.length) return [...b];
  const m = new Map<string, OffsetToCommit>();
  for (const o of [...a, ...b]) m.set(`${o.topic}:${o.partition}`, o);
  return [...m.values()];
}

/** Adds each record to its topic's count (records come in runs of one topic). */
function countByTopic(records: readonly OutgoingRecord[], into: Map<string, number>): void {
  let topic: string | undefined;
  let run = 0;
  for (const r of records) {
    if (r.topic === topic) {
      run++;
      continue;
    }
    if (topic !== undefined) into.set(topic, (into.get(topic) ?? 0) + run);
    topic = r.topic;
    run = 1;
  }
  if (topic !== undefined) into.set(topic, (into.get(topic) ?? 0) + run);
}

/**
 * The timestamp of a changelog record: the record's own time, but never before the wall
 * clock when it is written. The broker deletes a window or session store's changelog
 * (`cleanup.policy=compact,delete`) by record timestamp against its own clock, so records
 * stamped with event times from long ago (a replay, a backfill) would be deleted at its
 * next retention check while the store still holds them, and a task restored from it would
 * lose that state. The local store expires windows by stream time, not by these stamps.
 */
export function changelogTimestamp(recordTime: number, wallClock: number): number {
  return recordTime > wallClock ? recordTime : wallClock;
}
