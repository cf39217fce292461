/**
 * A task at runtime: one partition of one sub-topology, its engine (routing, stores,
 * punctuation) and how its commits leave (a transaction of its own under exactly-once,
 * the shared producer plus a consumer offset commit under at-least-once).
 */
import type { OffsetToCommit, OutgoingRecord, WrittenOffsets } from './producers.js';
import type { RawRecord, TaskEngine } from './task-port.js';

export type TaskState = 'restoring' | 'running' | 'suspended' | 'closed';

/** Sends a task's records and commits its offsets; returns the last offset written per partition. */
export interface Committer {
  commit(
    records: readonly OutgoingRecord[],
    offsets: readonly OffsetToCommit[],
  ): Promise<WrittenOffsets>;
  close(): Promise<void>;
}

/** Where a task keeps its checkpoint: the changelog offset each store has reached. */
export interface CheckpointIO {
  read(): Promise<Map<string, number> | undefined>;
  write(offsets: Map<string, number>): Promise<void>;
  remove(): Promise<void>;
  /** Delete the task's local state (under exactly-once, after an unclean stop). */
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
  state: TaskState = 'restoring';
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
  /** The checkpoint the task started from (changelog offset per store), if any. */
  restoredFrom: Map<string, number> | undefined;
  /** Stores restored and processors initialised: ready to resume. */
  restoreDone = false;
  restoreInProgress = false;

  constructor(
    readonly id: string,
    readonly partition: number,
    readonly engine: TaskEngine,
    private readonly committer: Committer,
    readonly checkpoint: CheckpointIO,
  ) {}

  /** True when records were processed (or punctuations ran) since the last commit. */
  get hasUncommitted(): boolean {
    return this.uncommitted;
  }

  /** Processes consumed records in order; awaits only when a processor was asynchronous. */
  async process(records: readonly RawRecord[]): Promise<void> {
    for (const r of records) {
      const pending = this.engine.process(r);
      if (pending) await pending;
    }
    this.stats.processed += records.length;
    // The engine tracks the next offset to consume per input partition (batch.offsets).
    if (records.length) this.uncommitted = true;
  }

  async punctuate(now: number): Promise<void> {
    const pending = this.engine.punctuateWallClock(now);
    if (pending) await pending;
    this.uncommitted = true;
  }

  /** Commits what happened since the last commit (no-op when nothing did). */
  async commit(): Promise<void> {
    if (!this.uncommitted || this.state !== 'running') return;
    const t0 = performance.now();
    const batch = await this.engine.prepareCommit();
    const records: OutgoingRecord[] = batch.records;
    for (const c of batch.changelogs) {
      for (const r of c.records)
        records.push({
          topic: c.topic,
          partition: this.partition,
          key: r.key,
          value: r.value,
          timestamp: r.timestamp,
        });
    }
    if (!records.length && !batch.offsets.length) {
      this.uncommitted = false;
      return;
    }
    const written = await this.committer.commit(records, batch.offsets);
    for (const c of batch.changelogs) {
      const last = written.get(`${c.topic}:${this.partition}`);
      if (last !== undefined) this.changelogPositions.set(c.store, last + 1);
    }
    this.uncommitted = false;
    this.stats.commits++;
    countByTopic(records, this.stats.produced);
    this.stats.lastCommitMs = performance.now() - t0;
  }

  /** Commit, record the checkpoint and close: the task can resume here without restoring. */
  async closeClean(): Promise<void> {
    if (this.state === 'running') await this.commit();
    await this.engine.close();
    if (this.state === 'running') await this.checkpoint.write(this.changelogPositions);
    await this.committer.close();
    this.state = 'closed';
  }

  /**
   * Close without committing (fenced, or failed). Under exactly-once local state may hold
   * writes whose transaction never committed: it is wiped and rebuilt from the changelog.
   */
  async closeDirty(exactlyOnce: boolean): Promise<void> {
    await this.engine.close().catch(() => {});
    await this.committer.close();
    if (exactlyOnce) await this.checkpoint.wipe();
    this.state = 'closed';
  }
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
