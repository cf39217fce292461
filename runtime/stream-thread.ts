/**
 * The instance's processing loop: one kafkajs consumer in the application's group,
 * tasks created and closed as the group assigns them, records processed inline in
 * `eachBatch`, commits on an interval, wall-clock punctuation on a timer.
 *
 * One lock serialises processing, commits and punctuation. Restoring happens outside
 * it, so tasks that are already running keep running while new ones restore. A task's
 * partitions stay paused from the moment it is assigned until it has restored and
 * seeked to its committed offsets.
 *
 * Rebalances are eager (kafkajs's only protocol): before the consumer rejoins the group,
 * every task commits what it processed, in the generation it processed it in, and no
 * task processes again until the new assignment is known (`beforeJoin`). Under
 * exactly-once that is what makes one transaction per instance safe: a task's new owner
 * starts from offsets no transaction of ours can still change.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { StreamsConfig } from './config.js';
import { MillraceError, OffsetsNotCommittedError, TaskMigratedError } from './errors.js';
import { taskAssignor, tasksFromAssignment, type TaskLayout } from './kafka-assignor.js';
import type { Logger } from './log.js';
import {
  InstanceTransactionalProducer,
  SharedProducer,
  type GroupMetadata,
  type OffsetToCommit,
  type OutgoingRecord,
} from './producers.js';
import {
  endOffsets,
  fetchStableOffsets,
  restoreChangelogs,
  type RestoreTarget,
} from './restore.js';
import { StreamTask, type CheckpointIO, type Committer } from './stream-task.js';
import { parseTaskId } from './assignment.js';
import { decodeOffsetMetadata } from './offset-metadata.js';
import { isRetriable, withRetries } from './retry.js';
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

/** Exactly-once: outputs the tasks hold before they are sent ahead of the commit (see sendAhead). */
const SEND_AHEAD_RECORDS = 1000;

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
  /** Exactly-once: the instance's transactional producer. */
  private txn?: InstanceTransactionalProducer;
  /** The consumer's membership as of the latest assignment (sent with transactional offsets). */
  private membership?: GroupMetadata;
  /**
   * Set once the tasks committed ahead of a rejoin (beforeJoin), until the new assignment:
   * nothing is processed, punctuated or committed meanwhile.
   */
  private revoking = false;
  /**
   * Tasks the latest assignment took away, until reconcile closes them: they committed
   * before the rejoin and neither process nor punctuate again (a wall-clock punctuation
   * here could change state and emit after their new owner restored it).
   */
  private readonly revoked = new Set<string>();
  /** A commit of every task is queued on the lock (exactly-once: one at a time is enough). */
  private commitAllQueued = false;
  private readonly lock = new Lock();
  private timers: NodeJS.Timeout[] = [];
  private lastCommit = Date.now();
  /** Exactly-once: since when commits have failed (and been rolled back), if they have. */
  private abortedSince: number | undefined;
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
    /** Exactly-once: the instance's transactional id, stable across its restarts. */
    private readonly transactionalId = `${config.applicationId}-instance`,
  ) {}

  get exactlyOnce(): boolean {
    return this.config.processingGuarantee === 'exactly_once';
  }

  /** Joins the group and starts processing. `onFatal` hears errors that stop the instance. */
  async start(onFatal: (err: unknown) => void): Promise<void> {
    this.fatal = onFatal;
    if (this.exactlyOnce) {
      const transactionTimeoutMs = this.config.transactionTimeout;
      this.txn = new InstanceTransactionalProducer(
        this.kafka,
        this.transactionalId,
        this.config.applicationId,
        () => this.membership,
        {
          transactionTimeoutMs,
          // A transaction begun ahead of a commit far away could reach its timeout.
          eager: this.config.commitInterval < transactionTimeoutMs / 4,
        },
      );
      // Aborts what this instance left open before a crash, before any task reads offsets.
      await this.txn.init();
    } else {
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
      this.onAssignment(payload.memberAssignment, payload.memberId, payload.generationId),
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
      beforeJoin: () => this.beforeJoin(),
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

  /**
   * Graceful stop: finish the batch in hand, commit, close stores, leave the group. The
   * commit comes first, while the instance is still a member (a transactional commit
   * carries its generation).
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // A commit that fails here leaves its tasks to be closed without committing below
    // (their state rebuilt from the changelogs by whoever runs them next): stopping goes on.
    await this.commitBeforeLeaving().catch((err: unknown) =>
      this.log.warn('could not commit before stopping; tasks close without committing', {
        error: err,
      }),
    );
    await this.consumer?.stop().catch(() => {});
    await this.lock.run(async () => {
      for (const task of [...this.tasks.values()]) await this.closeTask(task, true);
    });
    await this.consumer?.disconnect().catch(() => {});
    await this.shared?.close();
    await this.txn?.close();
    this.state = 'stopped';
  }

  /**
   * Called by the consumer before every JoinGroup (and so before a rebalance hands our
   * partitions to another member): commits every task's work in the current generation
   * and holds processing until the new assignment. Under exactly-once a commit refused
   * here (we were expelled, or our producer fenced) closes the tasks without committing,
   * as any fenced commit does.
   */
  private async beforeJoin(): Promise<void> {
    if (!this.tasks.size || this.state === 'stopped') return;
    this.log.info('rejoining the group: committing every task first', {
      tasks: [...this.tasks.keys()],
    });
    try {
      await this.commitBeforeLeaving();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Stops processing (until the next assignment), then commits everything every task has
   * processed and waits for it: the commits in flight, then what came after them. Under
   * at-least-once a commit that keeps failing is left for the task's next owner to redo
   * (after a few rounds); under exactly-once a failed commit closes its tasks.
   */
  private async commitBeforeLeaving(): Promise<void> {
    await this.lock.run(async () => {
      this.revoking = true;
    });
    for (let round = 0; round < 5; round++) {
      await Promise.all([...this.tasks.values()].map((t) => t.settled()));
      await this.txn?.settled();
      // What a failed commit does (close the tasks it fenced) runs on the lock: this lets it.
      // A commit started meanwhile (one queued on the lock before this) is waited for too:
      // none may still be in flight when the consumer rejoins.
      const left = await this.lock.run(async () => {
        const running = [...this.tasks.values()].filter((t) => t.state === 'running');
        const uncommitted = running.filter((t) => t.hasUncommitted && !t.committing);
        if (uncommitted.length) await this.commitTasks(uncommitted, true);
        return uncommitted.length + running.filter((t) => t.committing).length;
      });
      if (!left) return;
    }
  }

  // --- assignment ---------------------------------------------------------------

  private partitionsOf(taskId: string): Array<{ topic: string; partition: number }> {
    const { subtopology, partition } = parseTaskId(taskId);
    return (this.layout.sourcesBySubtopology.get(subtopology) ?? [])
      .filter((topic) => partition < this.layout.partitionCount(topic))
      .map((topic) => ({ topic, partition }));
  }

  /** Called synchronously by kafkajs after join+sync, before it fetches: pause new tasks now. */
  private onAssignment(
    assignment: Record<string, number[]>,
    memberId: string,
    generationId: number,
  ): void {
    const gen = ++this.generation;
    this.membership = { generationId, memberId };
    this.revoking = false;
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
    // A task that moved away processes nothing more here (a batch fetched before the
    // rebalance may still arrive): its commit would carry the new generation, which the
    // coordinator accepts, while its new owner already runs it. It is closed by reconcile.
    const wanted = new Set(tasks);
    this.revoked.clear();
    for (const t of this.tasks.values()) {
      if (!wanted.has(t.id)) this.revoked.add(t.id);
      for (const tp of this.partitionsOf(t.id)) {
        const k = `${tp.topic}:${tp.partition}`;
        if (wanted.has(t.id)) this.byPartition.set(k, t);
        else this.byPartition.delete(k);
      }
    }
    const fresh = tasks.filter((t) => this.tasks.get(t)?.state !== 'running');
    const pause = fresh.flatMap((t) => this.partitionsOf(t));
    if (pause.length) this.consumer.pause(groupByTopic(pause));
    // A task kept across the rebalance goes on from where it is: the consumer resolves
    // its fetch positions afresh on every join.
    for (const t of tasks) {
      if (this.tasks.get(t)?.state !== 'running') continue;
      for (const tp of this.partitionsOf(t)) {
        const position = this.positions.get(`${tp.topic}:${tp.partition}`);
        if (position !== undefined) this.consumer.seek({ ...tp, offset: String(position) });
      }
    }
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
        await this.awaitStableOffsets(pending);
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
    // The stores open first: their locks keep out another instance sharing this state
    // directory that still has the task open (it moved here, and the other has not closed
    // it yet; the open fails and the assignment step is retried), so its checkpoint is
    // read only once it is written, and nothing is wiped under it.
    let engine = await this.factory.createEngine(id);
    const checkpoint = await checkpointIO.read();
    // A checkpoint is valid once: it is removed while the task runs, so after a crash there
    // is none, and local state that may be ahead of the changelog is wiped before the
    // stores open. Under exactly-once such state may hold writes of a transaction that
    // never committed; under at-least-once, writes whose outputs and changelog records were
    // never sent (the stores are written before the send). Either way the task restores
    // what the changelog holds, so its state never runs ahead of its outputs.
    if (checkpoint) await checkpointIO.remove();
    else {
      await engine.close();
      await checkpointIO.wipe();
      engine = await this.factory.createEngine(id);
    }
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
    if (this.txn) return this.txn.committer(id);
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

  /**
   * Exactly-once: waits until no transaction holds offsets of these tasks' partitions
   * (OffsetFetch with require_stable, KIP-447). The previous owner of a task may have sent
   * its offsets in a transaction it has not ended yet (it was stopped mid-commit, or
   * crashed): the task must not read offsets or changelogs that transaction may still
   * change. It ends when its owner commits or aborts it, or at its transaction timeout.
   * Called before restoring, so the changelogs' ends are taken after it.
   */
  private async awaitStableOffsets(tasks: StreamTask[]): Promise<void> {
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
    this.revoked.delete(task.id);
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
      if (!isRunning() || isStale() || task.state !== 'running' || this.revoking) return;
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
      this.sendAhead();
      if (Date.now() - this.lastCommit >= this.config.commitInterval) await this.commitAll();
      // A task that processed many records since its last commit commits now: its outputs
      // (which may hold on to the fetched input buffers) are kept until the commit, and the
      // commit interval alone would let that grow with the input rate. (Under exactly-once
      // every task commits with it, in the one transaction.)
      else if (task.uncommittedRecords >= this.config.maxBufferedRecords)
        await this.commitTasks(this.exactlyOnce ? [...this.tasks.values()] : [task]);
    });
    await heartbeat().catch(() => {});
  }

  /**
   * Exactly-once: once the tasks hold SEND_AHEAD_RECORDS outputs and the next transaction
   * is open, those outputs go into it now (one send for all tasks), as Kafka Streams'
   * producer sends while its tasks process: the commit then carries only the rest, its
   * offsets and its end, and the outputs' memory is freed before it.
   */
  private sendAhead(): void {
    const txn = this.txn;
    if (!txn?.canSendAhead) return;
    let held = 0;
    for (const t of this.tasks.values()) held += t.heldOutputs;
    if (held < SEND_AHEAD_RECORDS) return;
    const records: OutgoingRecord[] = [];
    for (const t of this.tasks.values()) for (const r of t.takeAhead()) records.push(r);
    txn.sendAhead(records);
  }

  /** Records processed by this instance's tasks whose commit has not started. */
  private bufferedRecords(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.uncommittedRecords;
    return n;
  }

  /**
   * Starts a commit of every running task that has none in flight: under exactly-once one
   * transaction for all of them, under at-least-once a send of the shared producer each.
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
  private async commitTasks(tasks: StreamTask[], evenIfRevoking = false): Promise<void> {
    if (this.revoking && !evenIfRevoking) return;
    const ready = tasks.filter((t) => t.state === 'running' && !t.committing);
    const started = await Promise.allSettled(ready.map((task) => task.startCommit()));
    // Exactly-once: what the tasks handed over goes out now, as one transaction.
    this.txn?.flush();
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
          this.abortedSince = undefined;
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
    if (!due) return;
    if (!this.exactlyOnce) {
      void this.lock.run(() => this.commitTasks([task])).catch((e) => this.fail(e));
      return;
    }
    // Every task of the transaction that ended hears of it: one commit of all is enough.
    if (this.commitAllQueued) return;
    this.commitAllQueued = true;
    void this.lock
      .run(() => {
        this.commitAllQueued = false;
        return this.commitAll();
      })
      .catch((e) => this.fail(e));
  }

  private async onCommitError(task: StreamTask, err: unknown): Promise<void> {
    // Closed meanwhile (revoked, or the instance stopping): its close dealt with it.
    if (this.tasks.get(task.id) !== task) return;
    if (err instanceof TaskMigratedError) {
      // Our membership is stale (another instance owns the tasks now, and kafkajs will
      // rejoin) or our transaction was fenced. Under exactly-once the transaction held
      // every task's work: all of them close without committing, their state to be rebuilt
      // from the changelogs. Their partitions stay paused until they are created again.
      const fenced = this.exactlyOnce ? [...this.tasks.values()] : [task];
      this.log.warn('task fenced; closing without committing', {
        tasks: fenced.map((t) => t.id),
        error: err,
      });
      await this.closeDirtyAndRecreate(fenced);
      return;
    }
    if (this.exactlyOnce && isTransient(err)) {
      // Exactly-once, a transient failure (the broker busy, a coordinator moving): the
      // transaction is aborted, so every task's work since the last commit is undone. As
      // in Kafka Streams, the tasks are closed dirty and created again, from their
      // changelogs and committed offsets, and the instance goes on. Failures that last
      // longer than commitFailureTimeout stop it.
      this.abortedSince ??= Date.now();
      const failing = Date.now() - this.abortedSince;
      if (failing < this.config.commitFailureTimeout) {
        this.log.warn(
          'commit failed and was rolled back; every task is created again from its changelog and committed offsets',
          { tasks: [...this.tasks.keys()], error: err },
        );
        await this.closeDirtyAndRecreate([...this.tasks.values()]);
        return;
      }
      throw new MillraceError(
        `commits have failed for ${Math.round(failing / 1000)} s: ${err instanceof Error ? err.message : String(err)}`,
        { code: 'COMMIT_FAILED', domain: 'external', cause: err },
      );
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

  /**
   * Closes the tasks without committing (their partitions paused, what was sent ahead
   * aborted); under exactly-once they are then created again if the group still gives
   * them to this instance (a transaction that timed out or failed, with the membership
   * intact), and if not the coming rejoin decides.
   */
  private async closeDirtyAndRecreate(tasks: StreamTask[]): Promise<void> {
    const parts = tasks.flatMap((t) => this.partitionsOf(t.id));
    if (parts.length) this.consumer.pause(groupByTopic(parts));
    // What they sent ahead into the next transaction goes with them.
    this.txn?.discardAhead();
    for (const t of tasks) await this.closeTask(t, false);
    if (this.exactlyOnce && !this.revoking) {
      const gen = this.generation;
      void withRetries('recreate closed tasks', () => this.reconcile(gen, this.assigned), {
        onRetry: (e, attempt) =>
          this.log.warn('recreating closed tasks failed; retrying', { attempt, error: e }),
      }).catch((e) => this.fail(e));
    }
  }

  private async punctuateAll(): Promise<void> {
    if (this.revoking) return;
    const now = Date.now();
    for (const task of this.tasks.values())
      if (task.state === 'running' && !this.revoked.has(task.id)) await task.punctuate(now);
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

/**
 * A commit failure worth rolling back and retrying: millrace marked it retriable and the
 * Kafka client's error behind it is retriable too (see isRetriable).
 */
function isTransient(err: unknown): boolean {
  if (!(err instanceof MillraceError) || !err.retriable) return false;
  return err.cause === undefined || isRetriable(err.cause);
}
