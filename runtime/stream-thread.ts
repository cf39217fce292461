/**
 * The instance's processing loop: one kafkajs consumer in the application's group, tasks
 * created and closed as the group assigns them, records processed inline in `eachBatch`,
 * commits on an interval, wall-clock punctuation on a timer. Its states and the events that
 * move it are in runtime/lifecycle.ts; the tasks' Kafka-facing steps in task-manager.ts;
 * how commits go out and what a failed one does, per guarantee, in commits.ts.
 *
 * One lock serialises processing, commits and punctuation. Restoring happens outside
 * it, so tasks that are already running keep running while new ones restore. A task's
 * partitions stay paused from the moment it is assigned until it has restored and
 * sought to its committed offsets.
 *
 * Rebalances are eager (kafkajs's only protocol): before the consumer rejoins the group,
 * every task commits what it processed, in the generation it processed it in, and no
 * task processes again until the new assignment is known (`beforeJoin`). Under
 * exactly-once that is what makes one transaction per instance safe: a task's new owner
 * starts from offsets no transaction of ours can still change.
 */
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { commitStrategy, type CommitFailureContext, type CommitStrategy } from './commits.js';
import type { StreamsConfig } from './config.js';
import { ConsumerHandle, groupByTopic } from './consumer-handle.js';
import {
  taskAssignor,
  tasksFromAssignment,
  type AssignorOptions,
  type TaskLayout,
} from './kafka-assignor.js';
import { THREAD_TRANSITIONS, type ThreadState } from './lifecycle.js';
import type { Logger } from './log.js';
import type { GroupMetadata, OffsetToCommit } from './producers.js';
import { withRetries } from './retry.js';
import { StateMachine } from './state-machine.js';
import type { StreamTask } from './stream-task.js';
import { TaskManager, type TaskFactory } from './task-manager.js';
import type { RawRecord } from './task-port.js';

export type { TaskFactory } from './task-manager.js';

export interface ThreadObserver {
  onRebalance?(phase: 'start' | 'end', tasks: string[]): void;
  onRestore?(taskId: string, store: string, restored: number, remaining: number): void;
  onCommit?(taskId: string, seconds: number, ok: boolean): void;
  onProcessed?(taskId: string, count: number): void;
}

/**
 * What standby tasks and interactive queries (runtime/group-member.ts) take part in: what
 * the member tells the group, each assignment's userData, and two steps of each reconcile.
 */
export interface ThreadHooks {
  /** The assignor's options: standby replicas, what this member reports when it joins. */
  assignor?: AssignorOptions;
  /** A new assignment (synchronously, as it arrives): the leader's userData for this member. */
  onAssignment?(a: { generation: number; active: string[]; userData: Buffer | null }): void;
  /** Under the lock, before the assignment's tasks are created and closed. */
  beforeCreate?(active: readonly string[]): Promise<void>;
  /** Under the lock, after: the thread's tasks are those of the assignment. */
  afterCreate?(activeHere: ReadonlySet<string>): Promise<void>;
  /** The thread stopped (its tasks are closed). */
  stopped?(): Promise<void>;
}

class Lock {
  private tail: Promise<unknown> = Promise.resolve();
  /** When the function holding the lock started (0: free), for the stall watchdog. */
  heldSince = 0;
  run<T>(fn: () => Promise<T>): Promise<T> {
    const held = async () => {
      this.heldSince = Date.now();
      try {
        return await fn();
      } finally {
        this.heldSince = 0;
      }
    };
    const next = this.tail.then(held, held);
    this.tail = next.catch(() => {});
    return next;
  }
}

/** How long the lock may be held, or a commit stay in flight, before the watchdog says so. */
export const STALL_WARNING_MS = 30_000;

export class StreamThread {
  private readonly manager: TaskManager;
  private readonly lifecycle: StateMachine<ThreadState>;
  private consumer!: ConsumerHandle;
  private commits!: CommitStrategy;
  /** The consumer's membership as of the latest assignment (sent with transactional offsets). */
  private membership?: GroupMetadata;
  /** A commit of every task is queued on the lock (exactly-once: one at a time is enough). */
  private commitAllQueued = false;
  private readonly lock = new Lock();
  private timers: NodeJS.Timeout[] = [];
  private lastCommit = Date.now();
  /** Input partitions whose last batch was not their end (records after it; see commitCaughtUp). */
  private readonly behind = new Set<string>();
  /** When the consumer last handed the thread a batch (Date.now()). */
  private lastBatchAt = Date.now();
  private generation = 0;
  private memberId?: string;
  private fatal?: (err: unknown) => void;
  private readonly onFailure: CommitFailureContext = {
    tasks: () => this.manager.all(),
    closeDirtyAndRecreate: (tasks) => this.closeDirtyAndRecreate(tasks),
    closeTask: (task, clean) => this.manager.close(task, clean),
  };

  constructor(
    private readonly kafka: Kafka,
    admin: Admin,
    private readonly config: StreamsConfig,
    private readonly layout: TaskLayout,
    factory: TaskFactory,
    private readonly log: Logger,
    private readonly observer: ThreadObserver = {},
    /** Exactly-once: the instance's transactional id, stable across its restarts. */
    private readonly transactionalId = `${config.applicationId}-instance`,
    private readonly hooks: ThreadHooks = {},
  ) {
    this.manager = new TaskManager(kafka, admin, config, layout, factory, log, this.exactlyOnce);
    this.lifecycle = new StateMachine(
      'stream thread',
      THREAD_TRANSITIONS,
      'created',
      (from, to, e) => log.debug('stream thread state', { from, to, event: e }),
    );
  }

  get exactlyOnce(): boolean {
    return this.config.processingGuarantee === 'exactly_once';
  }

  get state(): ThreadState {
    return this.lifecycle.state;
  }

  get tasks(): ReadonlyMap<string, StreamTask> {
    return this.manager.tasks;
  }

  /** Tasks this instance was assigned in the latest generation. */
  assignedTasks(): string[] {
    return [...this.manager.assigned];
  }

  /** Nothing is processed, punctuated or committed (but for the commits of a rejoin or a stop). */
  private get halted(): boolean {
    return this.lifecycle.is('partitions_revoked', 'pending_shutdown', 'dead', 'failed');
  }

  private get stopping(): boolean {
    return this.lifecycle.is('pending_shutdown', 'dead');
  }

  /** Joins the group and starts processing. `onFatal` hears errors that stop the instance. */
  async start(onFatal: (err: unknown) => void): Promise<void> {
    this.fatal = onFatal;
    this.lifecycle.to('starting', 'start');
    const kafkaConsumer = this.createConsumer();
    this.consumer = new ConsumerHandle(kafkaConsumer);
    this.commits = commitStrategy(
      this.kafka,
      this.config,
      this.log,
      this.transactionalId,
      () => this.membership,
      (offsets) => this.commitConsumerOffsets(offsets),
    );
    // Exactly-once: aborts what this instance left open before a crash, before any task
    // reads offsets. These steps ride out a broker that dies meanwhile (its coordinators
    // and leaders move to the others) as the assignment does, for commitFailureTimeout.
    await this.retryingStep('claiming the transactional id', () => this.commits.start());
    this.listen();
    const topics = [...new Set([...this.layout.sourcesBySubtopology.values()].flat())];
    await this.retryingStep('subscribing', async () => {
      await kafkaConsumer.connect();
      await kafkaConsumer.subscribe({ topics, fromBeginning: true });
    });
    // kafkajs announces no rebalance for the first join: it starts here, and like every
    // later one it ends when all assigned tasks run (counted and timed the same way).
    this.observer.onRebalance?.('start', []);
    await kafkaConsumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => this.onBatch(p),
      beforeJoin: () => this.beforeJoin(),
    });
    this.startTimers();
  }

  private createConsumer() {
    return this.kafka.consumer({
      groupId: this.config.applicationId,
      partitionAssigners: [
        taskAssignor(
          () => this.layout,
          () => [...this.manager.tasks.keys()],
          this.hooks.assignor,
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
  }

  /** A start-up step retried while it fails retriably, for commitFailureTimeout. */
  private retryingStep(what: string, fn: () => Promise<void>): Promise<void> {
    return withRetries(what, fn, {
      forMs: this.config.commitFailureTimeout,
      onRetry: (err, attempt) => this.log.warn(`${what} failed; retrying`, { attempt, error: err }),
    });
  }

  private listen(): void {
    const c = this.consumer.consumer;
    c.on(c.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(
        payload.memberAssignment,
        payload.memberId,
        payload.generationId,
        payload.memberUserData,
      ),
    );
    c.on(c.events.REBALANCING, () =>
      this.observer.onRebalance?.('start', [...this.manager.tasks.keys()]),
    );
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
      const k = `${payload.topic}:${payload.partition}`;
      if (Number(payload.offsetLag) > 0) this.behind.add(k);
      else this.behind.delete(k);
      // batchSize 0: a batch read_committed emptied (see TaskManager.passFiltered).
      const p = payload as typeof payload & { fetchedOffset?: string };
      if (
        p.batchSize === 0 &&
        p.fetchedOffset !== undefined &&
        this.manager.positions.passFiltered(
          p.topic,
          p.partition,
          Number(p.fetchedOffset),
          Number(p.lastOffset) + 1,
        )
      )
        this.manager
          .forPartition(p.topic, p.partition)
          ?.readPast(p.topic, p.partition, Number(p.lastOffset) + 1);
    });
    c.on(c.events.CRASH, ({ payload }) => {
      if (!payload.restart) return this.fail(payload.error);
      this.onConsumerRestart(payload.error);
    });
  }

  /**
   * Says (once per stall) when the thread's lock has been held, or a task's commit in
   * flight, for STALL_WARNING_MS: everything the thread does waits behind either, so an
   * instance that stopped making progress without an error says where it waits. Also when
   * the thread has been out of `running` (a rebalance, a restore) that long, and when
   * partitions that were behind have had no batch that long (the consumer stopped
   * fetching). It only logs; off the lock, so a stuck lock does not silence it.
   */
  private watchStalls(): void {
    const warned = new Set<string>();
    const check = () => {
      const now = Date.now();
      const stalls: Array<[string, string, Record<string, unknown>]> = [];
      if (this.lock.heldSince && now - this.lock.heldSince >= STALL_WARNING_MS)
        stalls.push([
          `lock@${this.lock.heldSince}`,
          'the stream thread has been busy (its lock held) for a long time',
          { seconds: Math.round((now - this.lock.heldSince) / 1000), state: this.lifecycle.state },
        ]);
      for (const t of this.manager.all())
        if (t.committing && now - t.lastCommitStarted >= STALL_WARNING_MS)
          stalls.push([
            `commit@${t.id}@${t.lastCommitStarted}`,
            'a commit has been in flight for a long time; the task processes no more until it settles',
            { task: t.id, seconds: Math.round((now - t.lastCommitStarted) / 1000) },
          ]);
      const state = this.lifecycle.state;
      const stateFor = now - this.lifecycle.enteredAt;
      if (
        (state === 'partitions_revoked' || state === 'partitions_assigned') &&
        stateFor >= STALL_WARNING_MS
      )
        stalls.push([
          `state@${this.lifecycle.enteredAt}`,
          'the stream thread has not been running for a long time (a rebalance or restore not finished)',
          {
            state,
            since: this.lifecycle.enteredBy,
            seconds: Math.round(stateFor / 1000),
            tasks: Object.fromEntries(this.manager.all().map((t) => [t.id, t.state])),
          },
        ]);
      // Partitions that were behind at their last batch, and no batch since: the consumer
      // has stopped fetching (a Kafka client stuck after a broker went away, say).
      const lastHeard = Math.max(this.lastBatchAt, this.lifecycle.enteredAt);
      const quiet = now - lastHeard;
      if (state === 'running' && this.behind.size && quiet >= STALL_WARNING_MS)
        stalls.push([
          `fetch@${lastHeard}`,
          'partitions are behind their log end but the consumer has handed over no records for a long time',
          { seconds: Math.round(quiet / 1000), behind: [...this.behind].slice(0, 20) },
        ]);
      for (const [key, msg, fields] of stalls)
        if (!warned.has(key)) {
          warned.add(key);
          this.log.warn(msg, fields);
        }
      if (warned.size > 1000) warned.clear();
    };
    this.timers.push(setInterval(check, 1000));
  }

  private startTimers(): void {
    this.watchStalls();
    const onLock = (fn: () => Promise<void>) => () =>
      void this.lock.run(fn).catch((e) => this.fail(e));
    this.timers.push(
      setInterval(
        onLock(() => this.commitAll()),
        this.config.commitInterval,
      ),
    );
    this.timers.push(
      setInterval(
        onLock(async () => {
          await this.punctuateAll();
          await this.commitCaughtUp();
        }),
        Math.min(100, this.config.commitInterval),
      ),
    );
  }

  /**
   * kafkajs restarts its consumer after a retriable error (a broker going away): it leaves
   * the group and joins again. Until the new assignment nothing is processed; the rejoin
   * commits what can be committed first, as any rejoin does (see beforeJoin).
   */
  private onConsumerRestart(error: unknown): void {
    this.log.warn('the consumer restarts after an error; tasks wait for the new assignment', {
      error,
    });
    void this.lock
      .run(async () => {
        if (!this.halted) this.lifecycle.to('partitions_revoked', 'consumer restarting');
      })
      .catch((e) => this.fail(e));
  }

  /**
   * Graceful stop: finish the batch in hand, commit, close stores, leave the group. The
   * commit comes first, while the instance is still a member (a transactional commit
   * carries its generation).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.lifecycle.to('pending_shutdown', 'stop');
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // A commit that fails here leaves its tasks to be closed without committing below
    // (their state rebuilt from the changelogs by whoever runs them next): stopping goes on.
    await this.commitBeforeLeaving().catch((err: unknown) =>
      this.log.warn('could not commit before stopping; tasks close without committing', {
        error: err,
      }),
    );
    await this.consumer?.consumer.stop().catch(() => {});
    await this.lock.run(async () => {
      for (const task of this.manager.all()) await this.manager.close(task, true);
    });
    await this.consumer?.consumer.disconnect().catch(() => {});
    await this.commits?.close();
    await this.hooks.stopped?.();
    this.lifecycle.to('dead', 'stopped');
  }

  /**
   * Called by the consumer before every JoinGroup (and so before a rebalance hands our
   * partitions to another member): commits every task's work in the current generation
   * and holds processing until the new assignment. Under exactly-once a commit refused
   * here (we were expelled, or our producer fenced) closes the tasks without committing,
   * as any fenced commit does.
   */
  private async beforeJoin(): Promise<void> {
    if (this.stopping || this.lifecycle.is('failed')) return;
    if (this.manager.tasks.size)
      this.log.info('rejoining the group: committing every task first', {
        tasks: [...this.manager.tasks.keys()],
      });
    try {
      await this.lock.run(async () => {
        if (!this.stopping && !this.lifecycle.is('failed'))
          this.lifecycle.to('partitions_revoked', 'before join');
      });
      await this.commitBeforeLeaving();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Commits everything every task has processed and waits for it: the commits in flight,
   * then what came after them (nothing new is processed: the thread is halted). Under
   * at-least-once a commit that keeps failing is left for the task's next owner to redo
   * (after a few rounds); under exactly-once a failed commit closes its tasks.
   */
  private async commitBeforeLeaving(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      await Promise.all(this.manager.all().map((t) => t.settled()));
      await this.commits?.settled();
      // What a failed commit does (close the tasks it fenced) runs on the lock: this lets it.
      // A commit started meanwhile (one queued on the lock before this) is waited for too:
      // none may still be in flight when the consumer rejoins.
      const left = await this.lock.run(async () => {
        const running = this.manager.all().filter((t) => t.state === 'running');
        const uncommitted = running.filter((t) => t.hasUncommitted && !t.committing);
        if (uncommitted.length) await this.commitTasks(uncommitted, true);
        return uncommitted.length + running.filter((t) => t.committing).length;
      });
      if (!left) return;
    }
  }

  // --- assignment ---------------------------------------------------------------

  /** Called synchronously by kafkajs after join+sync, before it fetches: pause new tasks now. */
  private onAssignment(
    assignment: Record<string, number[]>,
    memberId: string,
    generationId: number,
    userData: Buffer | null = null,
  ): void {
    if (this.stopping || this.lifecycle.is('failed')) return;
    const gen = ++this.generation;
    this.membership = { generationId, memberId };
    // Which partitions are behind is learnt again from the new generation's batches: a
    // partition that moved away must not stay in the set (commitCaughtUp).
    this.behind.clear();
    this.lifecycle.to('partitions_assigned', `assignment of generation ${generationId}`);
    const tasks = tasksFromAssignment(assignment, this.layout);
    this.hooks.onAssignment?.({ generation: generationId, active: tasks, userData });
    const expelled = this.suspendIfExpelled(memberId);
    const { pause, seek } = this.manager.assign(tasks);
    this.consumer.pause(groupByTopic(pause));
    for (const p of seek) this.consumer.seek(p.topic, p.partition, p.offset);
    this.log.info('assignment', {
      assignment: gen,
      generationId,
      memberId,
      tasks,
      expelled,
    });
    const retryLog = (err: unknown, attempt: number) =>
      this.log.warn('assignment step failed; retrying', { attempt, error: err });
    void withRetries('assignment', () => this.reconcile(gen), {
      forMs: this.config.commitFailureTimeout,
      onRetry: retryLog,
    }).catch((e) => this.fail(e));
  }

  /**
   * A new member id means the group expelled us (e.g. we were stopped past the session
   * timeout, or the consumer restarted): every task we still hold may have moved and been
   * fenced meanwhile, so none is kept; they are closed without committing and created afresh.
   */
  private suspendIfExpelled(memberId: string): boolean {
    const expelled = this.memberId !== undefined && this.memberId !== memberId;
    this.memberId = memberId;
    if (!expelled || !this.manager.tasks.size) return expelled;
    this.log.warn(
      'expelled from the group; dropping the uncommitted work of every task (task fenced or moved)',
      { tasks: [...this.manager.tasks.keys()] },
    );
    for (const t of this.manager.all())
      if (t.state === 'running' || t.state === 'restoring') t.transition('suspended', 'expelled');
    return expelled;
  }

  /**
   * Brings the tasks in line with the latest assignment: closes what moved away (clean) or
   * may not commit (dirty), creates what is new, restores every task that needs it, and
   * resumes each restored task the latest assignment still gives us.
   */
  private async reconcile(gen: number): Promise<void> {
    const created = await this.lock.run(async () => {
      // A stop closes every task under the lock: a step still being retried (a task whose
      // old owner had not closed it yet) must not open them again after it.
      if (this.stopping || this.lifecycle.is('failed')) return undefined;
      await this.hooks.beforeCreate?.(this.manager.assigned);
      const out = await this.createAndClose();
      await this.hooks.afterCreate?.(new Set(this.manager.tasks.keys()));
      return out;
    });
    if (!created) return;
    // Restore every task that still needs it (also ones a failed earlier attempt created).
    const pending = this.manager
      .all()
      .filter((t) => t.state === 'restoring' && !t.restoreDone && !t.restoreInProgress);
    if (pending.length || created.length) {
      for (const t of pending) t.restoreInProgress = true;
      try {
        await this.manager.awaitStableOffsets(pending);
        await this.manager.restore(pending, (...a) => this.observer.onRestore?.(...a));
      } finally {
        for (const t of pending) t.restoreInProgress = false;
      }
    }
    await this.lock.run(async () => {
      if (!this.stopping) await this.resumeRestored(gen);
    });
  }

  private async createAndClose(): Promise<StreamTask[]> {
    const wanted = new Set(this.manager.assigned);
    // Tasks closed without committing take what they sent ahead of their commit with them.
    if (this.manager.all().some((t) => t.state === 'suspended')) this.commits.discardAhead();
    for (const task of this.manager.all()) {
      if (task.state === 'suspended') await this.manager.close(task, false);
      else if (!wanted.has(task.id)) await this.manager.close(task, true);
    }
    const out: StreamTask[] = [];
    for (const id of this.manager.assigned)
      if (!this.manager.tasks.has(id))
        out.push(await this.manager.create(id, this.commits.committerFor(id)));
    return out;
  }

  /** Resumes every restored task the latest assignment still gives us (also ones an earlier generation created). */
  private async resumeRestored(gen: number): Promise<void> {
    const latest = new Set(this.manager.assigned);
    for (const task of this.manager.all())
      if (task.state === 'restoring' && task.restoreDone && latest.has(task.id))
        await this.manager.resume(task, this.consumer);
    const allRunning = this.manager.all().every((t) => t.state === 'running');
    if (gen === this.generation && allRunning && this.lifecycle.is('partitions_assigned')) {
      this.lifecycle.to('running', 'every assigned task runs');
      this.observer.onRebalance?.('end', [...this.manager.tasks.keys()]);
    }
  }

  // --- processing -----------------------------------------------------------------

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    this.lastBatchAt = Date.now();
    const task = this.manager.forPartition(batch.topic, batch.partition);
    if (!task || task.state !== 'running' || !batch.messages.length) return;
    // Backpressure: while its commit is in flight, a task processes on only as long as the
    // instance holds fewer than maxBufferedRecords processed records not yet committing
    // (their outputs wait in memory); then it waits for that commit to settle.
    while (task.committing && this.bufferedRecords() >= this.config.maxBufferedRecords)
      await task.settled();
    // An error out of processing (a processor's with the handler set to fail, a schema
    // registry that stays unreachable) stops the instance: thrown back into kafkajs it would
    // restart the consumer and fetch the batch again, from a record before ones processed.
    await this.lock
      .run(async () => {
        if (!payload.isRunning() || payload.isStale() || task.state !== 'running' || this.halted)
          return;
        if (!(await this.processBatch(task, payload))) return;
        this.commits.sendAhead(this.manager.all());
        await this.commitIfBusy(task);
      })
      .catch((err: unknown) => this.fail(err));
    await payload.heartbeat().catch(() => {});
  }

  /** Processes the batch's records this task has not processed yet; false if there were none. */
  private async processBatch(task: StreamTask, { batch, resolveOffset }: EachBatchPayload) {
    const position = await this.placeBatch(task, batch);
    if (position === undefined) return false;
    const messages = batch.messages;
    // Offsets rise through a batch: the records already processed, if any, come first.
    let skip = 0;
    while (skip < messages.length && Number(messages[skip]!.offset) < position) skip++;
    if (skip)
      this.log.debug('dropped records already processed', {
        task: task.id,
        topic: batch.topic,
        partition: batch.partition,
        from: batch.firstOffset(),
        position,
        dropped: skip,
      });
    if (skip === messages.length) {
      // kafkajs is behind this task: move its fetch position to ours.
      this.consumer.seek(batch.topic, batch.partition, position);
      return false;
    }
    const records: RawRecord[] = new Array(messages.length - skip);
    for (let i = skip; i < messages.length; i++) {
      const m = messages[i]!;
      records[i - skip] = {
        topic: batch.topic,
        partition: batch.partition,
        offset: Number(m.offset),
        key: m.key,
        value: m.value,
        timestamp: Number(m.timestamp),
        headers: (m.headers ?? {}) as RawRecord['headers'],
      };
    }
    await task.process(records);
    // Past the batch's last offset, which may be a transaction marker after the last record:
    // where the consumer fetches next.
    const next = Number(batch.lastOffset()) + 1;
    this.manager.positions.set(batch.topic, batch.partition, next);
    task.readPast(batch.topic, batch.partition, next);
    resolveOffset(batch.lastOffset());
    this.observer.onProcessed?.(task.id, records.length);
    return true;
  }

  /**
   * Where the task's processing of the batch starts (see FetchPositions.place); undefined
   * when the batch was fetched before a seek and is fetched again.
   */
  private async placeBatch(
    task: StreamTask,
    batch: EachBatchPayload['batch'],
  ): Promise<number | undefined> {
    const fetched = Number((batch as typeof batch & { fetchedOffset?: string }).fetchedOffset);
    let placed = this.manager.positions.place(batch.topic, batch.partition, fetched, () =>
      this.manager.logStart(batch.topic, batch.partition),
    );
    if (placed instanceof Promise) placed = await placed;
    if (!placed.process) {
      this.log.info('dropped a batch fetched before the task was sought; fetching again', {
        task: task.id,
        topic: batch.topic,
        partition: batch.partition,
        fetchedFrom: fetched,
        position: placed.position,
      });
      this.consumer.seek(batch.topic, batch.partition, placed.position);
      return undefined;
    }
    if (placed.deleted)
      this.log.warn('records were deleted from the log before the task processed them', {
        task: task.id,
        topic: batch.topic,
        partition: batch.partition,
        from: placed.deleted[0],
        to: placed.deleted[1],
      });
    return placed.from;
  }

  /**
   * Commits when the interval has passed, or early when the task processed many records
   * since its last commit: its outputs (which may hold on to the fetched input buffers)
   * are kept until the commit, and the interval alone would let that grow with the input
   * rate. (Under exactly-once every task commits with it, in the one transaction.)
   */
  private async commitIfBusy(task: StreamTask): Promise<void> {
    if (Date.now() - this.lastCommit >= this.config.commitInterval) await this.commitAll();
    else if (task.uncommittedRecords >= this.config.maxBufferedRecords)
      await this.commitTasks(this.commits.commitGroup(task, this.manager.all()));
  }

  /** Records processed by this instance's tasks whose commit has not started. */
  private bufferedRecords(): number {
    let n = 0;
    for (const t of this.manager.tasks.values()) n += t.uncommittedRecords;
    return n;
  }

  // --- commits --------------------------------------------------------------------

  /** Starts a commit of every running task that has none in flight. */
  private async commitAll(): Promise<void> {
    this.lastCommit = Date.now();
    await this.commitTasks(this.manager.all());
  }

  /**
   * Under the lock: drains each task's engine (stores written, outputs and offsets taken)
   * and starts its send, without waiting for the broker. Processing goes on while the
   * commits are in flight (what it produces belongs to each task's next commit), so the
   * round trips of a transaction do not stall the instance. A failed send is handled
   * under the lock when it fails.
   */
  private async commitTasks(tasks: StreamTask[], evenIfHalted = false): Promise<void> {
    if (this.halted && !evenIfHalted) return;
    if (!this.commits.mayStartRound(this.manager.all())) return;
    const ready = tasks.filter((t) => t.state === 'running' && !t.committing);
    const started = await Promise.allSettled(ready.map((task) => task.startCommit()));
    // Exactly-once: what the tasks handed over goes out now, as one transaction.
    this.commits.flush();
    for (const [i, o] of started.entries()) {
      const task = ready[i]!;
      if (o.status === 'rejected') await this.onCommitError(task, o.reason);
      else if (o.value) this.watch(task, o.value.send);
    }
  }

  /** Reports a commit's outcome when its send settles. */
  private watch(task: StreamTask, send: Promise<void>): void {
    const t0 = performance.now();
    task.lastCommitStarted = Date.now();
    const seconds = () => (performance.now() - t0) / 1000;
    send.then(
      () => {
        this.commits.committed();
        this.observer.onCommit?.(task.id, seconds(), true);
        this.commitIfDue(task);
      },
      (err: unknown) => {
        this.observer.onCommit?.(task.id, seconds(), false);
        void this.lock.run(() => this.onCommitError(task, err)).catch((e) => this.fail(e));
      },
    );
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
    if (this.manager.tasks.get(task.id) !== task) return;
    await this.commits.onCommitError(task, err, this.onFailure);
  }

  /** At-least-once: the offsets go through the consumer, after the records were written. */
  private async commitConsumerOffsets(offsets: readonly OffsetToCommit[]): Promise<void> {
    await this.consumer.consumer.commitOffsets(
      offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: String(o.offset),
        metadata: o.metadata ?? null,
      })),
    );
  }

  /**
   * Closes the tasks without committing (their partitions paused, what was sent ahead
   * aborted); they are then created again if the group still gives them to this instance
   * (a transaction that timed out or failed, with the membership intact), and if not the
   * coming rejoin decides.
   */
  private async closeDirtyAndRecreate(tasks: StreamTask[]): Promise<void> {
    this.consumer.pause(groupByTopic(tasks.flatMap((t) => this.manager.partitionsOf(t.id))));
    // What they sent ahead into the next transaction goes with them.
    this.commits.discardAhead();
    for (const t of tasks) await this.manager.close(t, false);
    if (this.halted) return;
    const gen = this.generation;
    void withRetries('recreate closed tasks', () => this.reconcile(gen), {
      forMs: this.config.commitFailureTimeout,
      onRetry: (e, attempt) =>
        this.log.warn('recreating closed tasks failed; retrying', { attempt, error: e }),
    }).catch((e) => this.fail(e));
  }

  /**
   * Commits the tasks that have processed records since their last commit and have caught
   * up with their input (see the `commitWhenCaughtUp` setting), once a tenth of the commit
   * interval (at least 100 ms) has passed since their last commit. Under exactly-once every
   * task commits in the one transaction: only when none of those with records is behind.
   */
  private async commitCaughtUp(): Promise<void> {
    if (!this.config.commitWhenCaughtUp || this.halted) return;
    const now = Date.now();
    const gap = Math.max(100, this.config.commitInterval / 10);
    // Records processed since the last commit (not a punctuation's work alone: an idle
    // instance does not commit every tick).
    const working = this.manager
      .all()
      .filter(
        (t) => t.state === 'running' && t.uncommittedRecords > 0 && !this.manager.isRevoked(t),
      );
    const caughtUp = working.filter((t) =>
      this.manager.partitionsOf(t.id).every((p) => !this.behind.has(`${p.topic}:${p.partition}`)),
    );
    const due = caughtUp.filter((t) => !t.committing && now - t.lastCommitStarted >= gap);
    if (!due.length) return;
    if (!this.exactlyOnce) return this.commitTasks(due);
    if (caughtUp.length === working.length) await this.commitAll();
  }

  private async punctuateAll(): Promise<void> {
    if (this.halted) return;
    const now = Date.now();
    for (const task of this.manager.tasks.values())
      if (task.state === 'running' && !this.manager.isRevoked(task)) await task.punctuate(now);
  }

  private fail(err: unknown): void {
    if (this.stopping || this.lifecycle.is('failed')) return;
    this.log.error('stream thread failed', { error: err });
    this.lifecycle.to('failed', 'fatal error');
    this.fatal?.(err);
  }
}
