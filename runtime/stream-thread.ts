/**
 * The instance's processing loop: one kafkajs consumer in the application's group,
 * tasks created and closed as the group assigns them, records processed inline in
 * `eachBatch`, commits on an interval, wall-clock punctuation on a timer.
 *
 * One lock serialises processing, commits and punctuation. Restoring happens outside
 * it, so tasks that are already running keep running while new ones restore. A task's
 * partitions stay paused from the moment it is assigned until it has restored and
 * seeked to its committed offsets.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { StreamsConfig } from './config.js';
import { MillraceError, OffsetsNotCommittedError, TaskMigratedError } from './errors.js';
import { taskAssignor, tasksFromAssignment, type TaskLayout } from './kafka-assignor.js';
import type { Logger } from './log.js';
import {
  SharedProducer,
  TaskTransactionalProducer,
  type OffsetToCommit,
  type OutgoingRecord,
} from './producers.js';
import { endOffsets, restoreChangelogs, type RestoreTarget } from './restore.js';
import { StreamTask, type CheckpointIO, type Committer } from './stream-task.js';
import { parseTaskId } from './assignment.js';
import { decodeOffsetMetadata } from './offset-metadata.js';
import { withRetries } from './retry.js';
import type { RawRecord, TaskEngine } from './task-port.js';

/** Builds a task's engine and its checkpoint access; supplied by the app. */
export interface TaskFactory {
  createEngine(taskId: string): Promise<TaskEngine>;
  checkpoint(taskId: string): CheckpointIO;
}

export interface ThreadObserver {
  onRebalance?(phase: 'start' | 'end', tasks: string[]): void;
  onRestore?(taskId: string, store: string, restored: number, remaining: number): void;
  onCommit?(taskId: string, seconds: number, ok: boolean): void;
  onProcessed?(taskId: string, count: number): void;
}

class Lock {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => {});
    return next;
  }
}

export class StreamThread {
  readonly tasks = new Map<string, StreamTask>();
  private readonly byPartition = new Map<string, StreamTask>();
  /**
   * Next offset to process per `topic:partition` of a running task. kafkajs may hand over
   * records this task already processed: a batch fetched before a rebalance and delivered
   * after the task was recreated and seeked, or, for a task kept across a rebalance, a
   * refetch from the group's committed offset (kafkajs resolves offsets afresh on every
   * join, and under exactly-once the committed offset trails what the open transaction
   * holds). Records below the position are dropped, so none is processed twice.
   */
  private readonly positions = new Map<string, number>();
  private consumer!: Consumer;
  private shared?: SharedProducer;
  private readonly lock = new Lock();
  private timers: NodeJS.Timeout[] = [];
  private lastCommit = Date.now();
  private assigned: string[] = [];
  private generation = 0;
  private memberId?: string;
  private fatal?: (err: unknown) => void;
  state: 'created' | 'rebalancing' | 'running' | 'stopping' | 'stopped' | 'failed' = 'created';

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly config: StreamsConfig,
    private readonly layout: TaskLayout,
    private readonly factory: TaskFactory,
    private readonly log: Logger,
    private readonly observer: ThreadObserver = {},
  ) {}

  get exactlyOnce(): boolean {
    return this.config.processingGuarantee === 'exactly_once';
  }

  /** Joins the group and starts processing. `onFatal` hears errors that stop the instance. */
  async start(onFatal: (err: unknown) => void): Promise<void> {
    this.fatal = onFatal;
    if (!this.exactlyOnce) {
      this.shared = new SharedProducer(this.kafka);
      await this.shared.connect();
    }
    this.consumer = this.kafka.consumer({
      groupId: this.config.applicationId,
      partitionAssigners: [
        taskAssignor(
          () => this.layout,
          () => [...this.tasks.keys()],
        ),
      ],
      sessionTimeout: this.config.sessionTimeout,
      heartbeatInterval: this.config.heartbeatInterval,
      rebalanceTimeout: this.config.rebalanceTimeout,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      // The records of a fetch stay in memory until processed: these bound the input held.
      maxBytes: this.config.fetchMaxBytes,
      maxBytesPerPartition: this.config.maxPartitionFetchBytes,
      maxWaitTimeInMs: 100,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(payload.memberAssignment, payload.memberId),
    );
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.state = 'rebalancing';
      this.observer.onRebalance?.('start', [...this.tasks.keys()]);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.fail(payload.error);
    });
    await this.consumer.connect();
    const topics = [...new Set([...this.layout.sourcesBySubtopology.values()].flat())];
    await this.consumer.subscribe({ topics, fromBeginning: true });
    // kafkajs announces no rebalance for the first join: it starts here, and like every
    // later one it ends when all assigned tasks run (counted and timed the same way).
    this.observer.onRebalance?.('start', []);
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => this.onBatch(p),
    });
    this.timers.push(
      setInterval(
        () => void this.lock.run(() => this.commitAll()).catch((e) => this.fail(e)),
        this.config.commitInterval,
      ),
    );
    this.timers.push(
      setInterval(
        () => void this.lock.run(() => this.punctuateAll()).catch((e) => this.fail(e)),
        Math.min(100, this.config.commitInterval),
      ),
    );
  }

  /** Graceful stop: finish the batch in hand, commit, close stores, leave the group. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.consumer?.stop().catch(() => {});
    await this.lock.run(async () => {
      for (const task of [...this.tasks.values()]) await this.closeTask(task, true);
    });
    await this.consumer?.disconnect().catch(() => {});
    await this.shared?.close();
    this.state = 'stopped';
  }

  // --- assignment ---------------------------------------------------------------

  private partitionsOf(taskId: string): Array<{ topic: string; partition: number }> {
    const { subtopology, partition } = parseTaskId(taskId);
    return (this.layout.sourcesBySubtopology.get(subtopology) ?? [])
      .filter((topic) => partition < this.layout.partitionCount(topic))
      .map((topic) => ({ topic, partition }));
  }

  /** Called synchronously by kafkajs after join+sync, before it fetches: pause new tasks now. */
  private onAssignment(assignment: Record<string, number[]>, memberId: string): void {
    const gen = ++this.generation;
    const tasks = tasksFromAssignment(assignment, this.layout);
    this.assigned = tasks;
    // A new member id means the group expelled us (e.g. we were stopped past the session
    // timeout): every task we still hold may have moved and been fenced meanwhile, so none
    // is kept; they are closed without committing and created afresh.
    const expelled = this.memberId !== undefined && this.memberId !== memberId;
    this.memberId = memberId;
    if (expelled && this.tasks.size) {
      this.log.warn(
        'expelled from the group; dropping the uncommitted work of every task (task fenced or moved)',
        { tasks: [...this.tasks.keys()] },
      );
      for (const t of this.tasks.values()) t.state = 'suspended';
    }
    const fresh = tasks.filter((t) => this.tasks.get(t)?.state !== 'running');
    const pause = fresh.flatMap((t) => this.partitionsOf(t));
    if (pause.length) this.consumer.pause(groupByTopic(pause));
    this.log.info('assignment', { generation: gen, tasks, expelled });
    const retryLog = (err: unknown, attempt: number) =>
      this.log.warn('assignment step failed; retrying', { attempt, error: err });
    void withRetries('assignment', () => this.reconcile(gen, tasks), { onRetry: retryLog }).catch(
      (e) => this.fail(e),
    );
  }

  private async reconcile(gen: number, tasks: string[]): Promise<void> {
    const wanted = new Set(tasks);
    const created = await this.lock.run(async () => {
      for (const task of [...this.tasks.values()]) {
        if (task.state === 'suspended') await this.closeTask(task, false);
        else if (!wanted.has(task.id)) await this.closeTask(task, true);
      }
      const out: StreamTask[] = [];
      for (const id of tasks) if (!this.tasks.has(id)) out.push(await this.createTask(id));
      return out;
    });
    // Restore every task that still needs it (also ones a failed earlier attempt created).
    const pending = [...this.tasks.values()].filter(
      (t) => t.state === 'restoring' && !t.restoreDone && !t.restoreInProgress,
    );
    if (pending.length || created.length) {
      for (const t of pending) t.restoreInProgress = true;
      try {
        await this.restore(pending);
      } finally {
        for (const t of pending) t.restoreInProgress = false;
      }
    }
    await this.lock.run(async () => {
      // Resume every restored task the latest assignment still gives us — including ones
      // an earlier generation created whose restore finished only now.
      const latest = new Set(this.assigned);
      for (const task of [...this.tasks.values()]) {
        if (task.state === 'restoring' && task.restoreDone && latest.has(task.id))
          await this.resumeTask(task);
      }
      if (gen === this.generation && [...this.tasks.values()].every((t) => t.state === 'running')) {
        this.state = 'running';
        this.observer.onRebalance?.('end', [...this.tasks.keys()]);
      }
    });
  }

  private async createTask(id: string): Promise<StreamTask> {
    const committer = await this.committerFor(id);
    const checkpointIO = this.factory.checkpoint(id);
    const checkpoint = await checkpointIO.read();
    // A checkpoint is valid once: it is removed while the task runs, so after a crash there
    // is none, and local state that may be ahead of the changelog is wiped before the
    // stores open. Under exactly-once such state may hold writes of a transaction that
    // never committed; under at-least-once, writes whose outputs and changelog records were
    // never sent (the stores are written before the send). Either way the task restores
    // what the changelog holds, so its state never runs ahead of its outputs.
    if (checkpoint) await checkpointIO.remove();
    else await checkpointIO.wipe();
    const engine = await this.factory.createEngine(id);
    const task = new StreamTask(
      id,
      parseTaskId(id).partition,
      engine,
      committer,
      checkpointIO,
      !this.exactlyOnce,
    );
    task.restoredFrom = checkpoint;
    this.tasks.set(id, task);
    for (const tp of this.partitionsOf(id))
      this.byPartition.set(`${tp.topic}:${tp.partition}`, task);
    return task;
  }

  private async committerFor(id: string): Promise<Committer> {
    if (this.exactlyOnce) {
      const transactionTimeoutMs = 60_000;
      const p = new TaskTransactionalProducer(
        this.kafka,
        `${this.config.applicationId}-${id}`,
        this.config.applicationId,
        id,
        transactionTimeoutMs,
        this.config.commitInterval < transactionTimeoutMs / 4,
      );
      await p.init(); // fences a zombie owner of this task before we read its offsets and state
      return p;
    }
    const shared = this.shared!;
    return {
      commit: async (records: readonly OutgoingRecord[], offsets: readonly OffsetToCommit[]) => {
        const written = await shared.send(records);
        if (offsets.length) {
          await this.consumer
            .commitOffsets(
              offsets.map((o) => ({
                topic: o.topic,
                partition: o.partition,
                offset: String(o.offset),
                metadata: o.metadata ?? null,
              })),
            )
            .catch((err: unknown) => {
              throw new OffsetsNotCommittedError(id, written, err);
            });
        }
        return written;
      },
      close: async () => {},
    };
  }

  /** Restores every new task's logged stores from its checkpoint to the changelog's end. */
  private async restore(tasks: StreamTask[]): Promise<void> {
    const targets: RestoreTarget[] = [];
    const changelogTopics = new Set<string>();
    for (const task of tasks)
      for (const s of task.engine.stores)
        if (s.changelogTopic) changelogTopics.add(s.changelogTopic);
    const ends = changelogTopics.size
      ? await endOffsets(this.admin, [...changelogTopics])
      : new Map<string, number>();
    for (const task of tasks) {
      const checkpoint = task.restoredFrom;
      for (const s of task.engine.stores) {
        if (!s.changelogTopic) continue;
        const end = ends.get(`${s.changelogTopic}:${task.partition}`) ?? 0;
        const from = Math.min(checkpoint?.get(s.name) ?? 0, end);
        task.changelogPositions.set(s.name, end);
        task.stats.restoreRemaining += end - from;
        targets.push({
          topic: s.changelogTopic,
          partition: task.partition,
          fromOffset: from,
          endOffset: end,
          apply: async (records) => {
            if (task.state === 'closed') return; // revoked while restoring
            await s.store.restore(records);
            task.stats.restored += records.length;
            task.stats.restoreRemaining = Math.max(0, task.stats.restoreRemaining - records.length);
            this.observer.onRestore?.(
              task.id,
              s.name,
              task.stats.restored,
              task.stats.restoreRemaining,
            );
          },
        });
      }
    }
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

  /** Seeks the task's partitions to their committed offsets and lets records flow. */
  private async resumeTask(task: StreamTask): Promise<void> {
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
      let offset = c && Number(c.offset) >= 0 ? c.offset : undefined;
      if (offset === undefined) {
        const low = (await this.admin.fetchTopicOffsets(topic)).find(
          (p) => p.partition === partition,
        );
        offset = low?.low ?? '0';
      }
      this.consumer.seek({ topic, partition, offset });
      this.positions.set(`${topic}:${partition}`, Number(offset));
    }
    // The stream time committed with the offsets (the task's clock when its state was
    // committed), so windows closed before a move or a crash stay closed.
    if (streamTime !== undefined) task.engine.resumeStreamTime?.(streamTime);
    task.state = 'running';
    this.consumer.resume(groupByTopic(parts));
  }

  private async closeTask(task: StreamTask, clean: boolean): Promise<void> {
    this.tasks.delete(task.id);
    for (const tp of this.partitionsOf(task.id)) {
      this.byPartition.delete(`${tp.topic}:${tp.partition}`);
      this.positions.delete(`${tp.topic}:${tp.partition}`);
    }
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
  }

  // --- processing -----------------------------------------------------------------

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const task = this.byPartition.get(`${batch.topic}:${batch.partition}`);
    if (!task || task.state !== 'running' || !batch.messages.length) return;
    // Backpressure: while its commit is in flight, a task processes on only as long as the
    // instance holds fewer than maxBufferedRecords processed records not yet committing
    // (their outputs wait in memory); then it waits for that commit to settle.
    while (task.committing && this.bufferedRecords() >= this.config.maxBufferedRecords)
      await task.settled();
    await this.lock.run(async () => {
      if (!isRunning() || isStale() || task.state !== 'running') return;
      const key = `${batch.topic}:${batch.partition}`;
      const position = this.positions.get(key) ?? -1;
      const fresh = batch.messages.filter((m) => Number(m.offset) >= position);
      if (fresh.length < batch.messages.length)
        this.log.debug('dropped records already processed', {
          task: task.id,
          topic: batch.topic,
          partition: batch.partition,
          from: batch.firstOffset(),
          position,
          dropped: batch.messages.length - fresh.length,
        });
      if (!fresh.length) {
        // kafkajs is behind this task: move its fetch position to ours.
        this.consumer.seek({
          topic: batch.topic,
          partition: batch.partition,
          offset: String(position),
        });
        return;
      }
      const records: RawRecord[] = fresh.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: Number(m.offset),
        key: m.key,
        value: m.value,
        timestamp: Number(m.timestamp),
        headers: (m.headers ?? {}) as RawRecord['headers'],
      }));
      await task.process(records);
      this.positions.set(key, records[records.length - 1]!.offset + 1);
      resolveOffset(batch.lastOffset());
      this.observer.onProcessed?.(task.id, records.length);
      if (Date.now() - this.lastCommit >= this.config.commitInterval) await this.commitAll();
      // A task that processed many records since its last commit commits now: its outputs
      // (which may hold on to the fetched input buffers) are kept until the commit, and the
      // commit interval alone would let that grow with the input rate.
      else if (task.uncommittedRecords >= this.config.maxBufferedRecords)
        await this.commitTasks([task]);
    });
    await heartbeat().catch(() => {});
  }

  /** Records processed by this instance's tasks whose commit has not started. */
  private bufferedRecords(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.uncommittedRecords;
    return n;
  }

  /**
   * Starts a commit of every running task that has none in flight. Under exactly-once each
   * task has its own producer and transaction, so the tasks commit concurrently; under
   * at-least-once they share one.
   */
  private async commitAll(): Promise<void> {
    this.lastCommit = Date.now();
    await this.commitTasks([...this.tasks.values()]);
  }

  /**
   * Under the lock: drains each task's engine (stores written, outputs and offsets taken)
   * and starts its send, without waiting for the broker. Processing goes on while the
   * commits are in flight (what it produces belongs to each task's next commit), so the
   * round trips of a transaction do not stall the instance. A failed send is handled
   * under the lock when it fails.
   */
  private async commitTasks(tasks: StreamTask[]): Promise<void> {
    const ready = tasks.filter((t) => t.state === 'running' && !t.committing);
    const started = await Promise.allSettled(ready.map((task) => task.startCommit()));
    for (const [i, o] of started.entries()) {
      const task = ready[i]!;
      if (o.status === 'rejected') {
        await this.onCommitError(task, o.reason);
        continue;
      }
      if (!o.value) continue;
      const { send } = o.value;
      const t0 = performance.now();
      task.lastCommitStarted = Date.now();
      send.then(
        () => {
          this.observer.onCommit?.(task.id, (performance.now() - t0) / 1000, true);
          this.commitIfDue(task);
        },
        (err: unknown) => {
          this.observer.onCommit?.(task.id, (performance.now() - t0) / 1000, false);
          void this.lock.run(() => this.onCommitError(task, err)).catch((e) => this.fail(e));
        },
      );
    }
  }

  /**
   * A task whose commit took longer than the commit interval missed the commits started
   * meanwhile: it commits again at once when it has work waiting.
   */
  private commitIfDue(task: StreamTask): void {
    if (task.state !== 'running' || !task.hasUncommitted || task.committing) return;
    const due =
      Date.now() - task.lastCommitStarted >= this.config.commitInterval ||
      task.uncommittedRecords >= this.config.maxBufferedRecords;
    if (due) void this.lock.run(() => this.commitTasks([task])).catch((e) => this.fail(e));
  }

  private async onCommitError(task: StreamTask, err: unknown): Promise<void> {
    // Closed meanwhile (revoked, or the instance stopping): its close dealt with it.
    if (this.tasks.get(task.id) !== task) return;
    if (err instanceof TaskMigratedError) {
      // Another instance owns it now; our group membership is stale and kafkajs will
      // rejoin. Stop fetching its partitions until the next assignment says otherwise.
      this.log.warn('task fenced; closing it without committing', { task: task.id });
      const parts = this.partitionsOf(task.id);
      if (parts.length) this.consumer.pause(groupByTopic(parts));
      await this.closeTask(task, false);
      return;
    }
    if (!this.exactlyOnce) {
      // At-least-once: the task keeps what it could not write or commit and retries it
      // with its next commit; if it moves first, the new owner processes those records
      // again. Commits that keep failing (a topic deleted, the cluster gone) stop the
      // instance, as a producer's delivery timeout does in Kafka Streams, rather than
      // letting it run on without progress.
      const failing = Date.now() - (task.commitFailingSince ?? Date.now());
      if (failing < this.config.commitFailureTimeout) {
        this.log.warn('commit failed; retried with the next commit', {
          task: task.id,
          error: err,
        });
        return;
      }
      throw new MillraceError(
        `commits of task ${task.id} have failed for ${Math.round(failing / 1000)} s: ${err instanceof Error ? err.message : String(err)}`,
        { code: 'COMMIT_FAILED', domain: 'external', cause: err, at: { task: task.id } },
      );
    }
    this.log.error('commit failed; closing the task, its state is rebuilt from the changelog', {
      task: task.id,
      error: err,
    });
    await this.closeTask(task, false);
    throw err instanceof MillraceError
      ? err
      : new MillraceError(`commit of task ${task.id} failed`, {
          code: 'COMMIT_FAILED',
          domain: 'external',
          cause: err,
        });
  }

  private async punctuateAll(): Promise<void> {
    const now = Date.now();
    for (const task of this.tasks.values()) if (task.state === 'running') await task.punctuate(now);
  }

  private fail(err: unknown): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.log.error('stream thread failed', { error: err });
    this.state = 'failed';
    this.fatal?.(err);
  }

  /** Tasks this instance was assigned in the latest generation. */
  assignedTasks(): string[] {
    return [...this.assigned];
  }
}

function groupByTopic(
  parts: Array<{ topic: string; partition: number }>,
): Array<{ topic: string; partitions: number[] }> {
  const m = new Map<string, number[]>();
  for (const p of parts) (m.get(p.topic) ?? m.set(p.topic, []).get(p.topic)!).push(p.partition);
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}
