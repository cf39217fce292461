/**
 * How the thread commits, per processing guarantee: one strategy object each, behind one
 * interface, instead of branches through the thread.
 *
 * - Exactly-once: one transactional producer for the instance; the tasks that commit
 *   together go out as one transaction (outputs, changelog records, offsets), and a failed
 *   commit rolls every task back to its changelog and committed offsets.
 * - At-least-once: one idempotent producer shared by the tasks; each task sends its
 *   records, then commits its offsets through the consumer; a failed commit is retried with
 *   the task's next commit.
 * Both stop the instance when commits keep failing for `commitFailureTimeout`.
 */
import type { Kafka } from 'kafkajs';
import type { StreamsConfig } from './config.js';
import { MillraceError, OffsetsNotCommittedError, TaskMigratedError } from './errors.js';
import type { Logger } from './log.js';
import {
  InstanceTransactionalProducer,
  SharedProducer,
  type GroupMetadata,
  type OffsetToCommit,
  type OutgoingRecord,
} from './producers.js';
import { hasErrorType, isRetriable } from './retry.js';
import type { Committer, StreamTask } from './stream-task.js';

/** Exactly-once: outputs the tasks hold before they are sent ahead of the commit (see sendAhead). */
const SEND_AHEAD_RECORDS = 1000;

/** What a strategy may ask of the thread when a commit fails. */
export interface CommitFailureContext {
  /** Every task of the thread now. */
  tasks(): StreamTask[];
  /** Closes tasks without committing; creates them again if they are still assigned here. */
  closeDirtyAndRecreate(tasks: StreamTask[]): Promise<void>;
  closeTask(task: StreamTask, clean: boolean): Promise<void>;
}

export interface CommitStrategy {
  readonly exactlyOnce: boolean;
  /** Connects the producer (exactly-once: claims the transactional id, aborting what a crashed predecessor left open). */
  start(): Promise<void>;
  committerFor(taskId: string): Committer;
  /** The tasks that commit along with `task` when it must commit early. */
  commitGroup(task: StreamTask, all: StreamTask[]): StreamTask[];
  /** Whether a round of commits may start now (`all`: every task of the thread). */
  mayStartRound(all: StreamTask[]): boolean;
  /** Called once a round of commits has started: exactly-once sends them as one transaction. */
  flush(): void;
  /** Exactly-once: sends what the tasks hold into the open transaction, once they hold enough. */
  sendAhead(tasks: Iterable<StreamTask>): void;
  /** Settles when everything flushed so far has ended, whatever its outcome. */
  settled(): Promise<void>;
  /** A commit succeeded. */
  committed(): void;
  /** A commit of `task` failed (called under the thread's lock): recover, or throw to stop. */
  onCommitError(task: StreamTask, err: unknown, ctx: CommitFailureContext): Promise<void>;
  /** Tasks are closed dirty: what was sent ahead of their commit is dropped with them. */
  discardAhead(): void;
  close(): Promise<void>;
}

/** The consumer's offset commit, for at-least-once (committed after the records are sent). */
export type CommitOffsets = (offsets: readonly OffsetToCommit[]) => Promise<void>;

export function commitStrategy(
  kafka: Kafka,
  config: StreamsConfig,
  log: Logger,
  transactionalId: string,
  membership: () => GroupMetadata | undefined,
  commitOffsets: CommitOffsets,
): CommitStrategy {
  return config.processingGuarantee === 'exactly_once'
    ? new ExactlyOnceCommits(kafka, config, log, transactionalId, membership)
    : new AtLeastOnceCommits(kafka, config, log, commitOffsets);
}

function commitFailed(message: string, cause: unknown, task?: string): MillraceError {
  return new MillraceError(message, {
    code: 'COMMIT_FAILED',
    domain: 'external',
    cause,
    ...(task ? { at: { task } } : {}),
  });
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

class ExactlyOnceCommits implements CommitStrategy {
  readonly exactlyOnce = true;
  private readonly txn: InstanceTransactionalProducer;
  /** Since when commits have failed (and been rolled back), if they have. */
  private abortedSince: number | undefined;

  constructor(
    kafka: Kafka,
    private readonly config: StreamsConfig,
    private readonly log: Logger,
    transactionalId: string,
    membership: () => GroupMetadata | undefined,
  ) {
    const transactionTimeoutMs = config.transactionTimeout;
    this.txn = new InstanceTransactionalProducer(
      kafka,
      transactionalId,
      config.applicationId,
      membership,
      {
        transactionTimeoutMs,
        // A transaction begun ahead of a commit far away could reach its timeout.
        eager: config.commitInterval < transactionTimeoutMs / 4,
      },
    );
  }

  start(): Promise<void> {
    return this.txn.init();
  }

  committerFor(taskId: string): Committer {
    return this.txn.committer(taskId);
  }

  /** The transaction holds every task's work: all commit together. */
  commitGroup(_task: StreamTask, all: StreamTask[]): StreamTask[] {
    return all;
  }

  /**
   * Not while a task's commit is in flight. Outputs go ahead into the transaction after
   * the one in flight; a round that started meanwhile, for the tasks not in flight, would
   * take that transaction and commit those outputs without the offsets and state of the
   * tasks that sent them (which commit in a later round): a crash in between, and their
   * next owner would produce them again. The round after starts when the commit in flight
   * ends (see the thread's commitIfDue).
   */
  mayStartRound(all: StreamTask[]): boolean {
    return !all.some((t) => t.committing);
  }

  flush(): void {
    this.txn.flush();
  }

  /**
   * Once the tasks hold SEND_AHEAD_RECORDS outputs and the next transaction is open, those
   * outputs go into it now (one send for all tasks), as Kafka Streams' producer sends
   * while its tasks process: the commit then carries only the rest, its offsets and its
   * end, and the outputs' memory is freed before it.
   */
  sendAhead(tasks: Iterable<StreamTask>): void {
    if (!this.txn.canSendAhead) return;
    const list = [...tasks];
    let held = 0;
    for (const t of list) held += t.heldOutputs;
    if (held < SEND_AHEAD_RECORDS) return;
    const records: OutgoingRecord[] = [];
    for (const t of list) for (const r of t.takeAhead()) records.push(r);
    this.txn.sendAhead(records);
  }

  settled(): Promise<void> {
    return this.txn.settled();
  }

  committed(): void {
    this.abortedSince = undefined;
  }

  discardAhead(): void {
    this.txn.discardAhead();
  }

  close(): Promise<void> {
    return this.txn.close();
  }

  /**
   * Fenced or expelled: the transaction held every task's work, so all of them close
   * without committing and are rebuilt from their changelogs. A transient failure (the
   * broker busy, a coordinator moving) is rolled back the same way, as in Kafka Streams,
   * until failures have lasted commitFailureTimeout; any other failure stops the instance.
   */
  async onCommitError(task: StreamTask, err: unknown, ctx: CommitFailureContext): Promise<void> {
    if (err instanceof TaskMigratedError) {
      this.log.warn('task fenced; closing without committing', {
        tasks: ctx.tasks().map((t) => t.id),
        error: err,
      });
      return ctx.closeDirtyAndRecreate(ctx.tasks());
    }
    if (isTransient(err)) {
      this.abortedSince ??= Date.now();
      const failing = Date.now() - this.abortedSince;
      if (failing >= this.config.commitFailureTimeout)
        throw commitFailed(
          `commits have failed for ${Math.round(failing / 1000)} s: ${reason(err)}`,
          err,
        );
      this.log.warn(
        'commit failed and was rolled back; every task is created again from its changelog and committed offsets',
        { tasks: ctx.tasks().map((t) => t.id), error: err },
      );
      return ctx.closeDirtyAndRecreate(ctx.tasks());
    }
    this.log.error('commit failed; closing the task, its state is rebuilt from the changelog', {
      task: task.id,
      error: err,
    });
    await ctx.closeTask(task, false);
    throw err instanceof MillraceError
      ? err
      : commitFailed(`commit of task ${task.id} failed`, err, task.id);
  }
}

class AtLeastOnceCommits implements CommitStrategy {
  readonly exactlyOnce = false;
  private readonly shared: SharedProducer;

  constructor(
    kafka: Kafka,
    private readonly config: StreamsConfig,
    private readonly log: Logger,
    private readonly commitOffsets: CommitOffsets,
  ) {
    this.shared = new SharedProducer(kafka);
  }

  start(): Promise<void> {
    return this.shared.connect();
  }

  /** Records first, then the offsets through the consumer (a failed offset commit keeps what was written). */
  committerFor(taskId: string): Committer {
    return {
      commit: async (records, offsets) => {
        const written = await this.shared.send(records);
        if (offsets.length)
          await this.commitOffsets(offsets).catch((err: unknown) => {
            throw new OffsetsNotCommittedError(taskId, written, err);
          });
        return written;
      },
      close: async () => {},
    };
  }

  commitGroup(task: StreamTask): StreamTask[] {
    return [task];
  }

  /** Each task commits on its own, whenever it has no commit in flight. */
  mayStartRound(): boolean {
    return true;
  }

  flush(): void {}
  sendAhead(): void {}
  settled(): Promise<void> {
    return Promise.resolve();
  }
  committed(): void {}
  discardAhead(): void {}

  close(): Promise<void> {
    return this.shared.close();
  }

  /**
   * The task keeps what it could not write or commit and retries it with its next commit;
   * if it moves first, the new owner processes those records again. Commits that keep
   * failing (a topic deleted, the cluster gone) stop the instance, as a producer's delivery
   * timeout does in Kafka Streams, rather than letting it run on without progress.
   */
  async onCommitError(task: StreamTask, err: unknown, ctx: CommitFailureContext): Promise<void> {
    if (err instanceof TaskMigratedError) {
      this.log.warn('task fenced; closing without committing', { tasks: [task.id], error: err });
      return ctx.closeDirtyAndRecreate([task]);
    }
    const failing = Date.now() - (task.commitFailingSince ?? Date.now());
    if (failing >= this.config.commitFailureTimeout)
      throw commitFailed(
        `commits of task ${task.id} have failed for ${Math.round(failing / 1000)} s: ${reason(err)}`,
        err,
        task.id,
      );
    this.log.warn('commit failed; retried with the next commit', { task: task.id, error: err });
  }
}

/**
 * A commit failure worth rolling back and retrying: millrace marked it retriable and the
 * Kafka client's error behind it is retriable too (see isRetriable).
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof MillraceError) || !err.retriable) return false;
  return (
    err.cause === undefined || isRetriable(err.cause) || hasErrorType(err.cause, SERVER_UNKNOWN)
  );
}

/**
 * UNKNOWN_SERVER_ERROR: not retriable to the client, but a broker in controlled shutdown
 * answers transactional requests with it during a rolling restart; rolled back and retried
 * like the others (bounded by commitFailureTimeout), it no longer stops the instance.
 */
const SERVER_UNKNOWN = new Set(['UNKNOWN']);
