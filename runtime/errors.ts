/**
 * Typed errors of the runtime. Each carries a `code`, a `domain` (whose fault:
 * `user` config or code, an `external` server, or `internal` — ours), whether retrying
 * can help, and where it happened (task, processor, topic, partition, offset).
 */

export type ErrorDomain = 'user' | 'external' | 'internal';

export interface RecordCoordinates {
  task?: string;
  processor?: string;
  topic?: string;
  partition?: number;
  offset?: number;
}

export class MillraceError extends Error {
  readonly code: string;
  readonly domain: ErrorDomain;
  readonly retriable: boolean;
  readonly coordinates: RecordCoordinates;

  constructor(
    message: string,
    opts: {
      code: string;
      domain: ErrorDomain;
      retriable?: boolean;
      cause?: unknown;
      at?: RecordCoordinates;
    },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.domain = opts.domain;
    this.retriable = opts.retriable ?? false;
    this.coordinates = opts.at ?? {};
  }
}

/** A bad setting: the message names the field and the fix. */
export class ConfigError extends MillraceError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CONFIG_INVALID', domain: 'user', cause });
  }
}

/** The app cannot start or go on: topics missing, co-partitioning broken, a server unreachable. */
export class StreamsError extends MillraceError {}

/** Another instance took this task over (its transactional id fenced ours). */
export class TaskMigratedError extends MillraceError {
  constructor(task: string, cause?: unknown) {
    super(
      `task ${task} was fenced: another instance owns it now; it will be closed here without committing`,
      {
        code: 'TASK_MIGRATED',
        domain: 'external',
        retriable: true,
        cause,
        at: { task },
      },
    );
  }
}

/**
 * At-least-once: the task's records were written but its offset commit failed (typically
 * a rebalance in progress). Nothing is lost: the offsets are committed with the next
 * commit, or the records are processed again by whoever owns the task next.
 */
export class OffsetsNotCommittedError extends MillraceError {
  constructor(
    task: string,
    /** Last offset written per `topic:partition`. */
    readonly written: Map<string, number>,
    cause?: unknown,
  ) {
    super(
      `task ${task}: records written, offset commit failed; it is retried with the next commit`,
      {
        code: 'OFFSETS_NOT_COMMITTED',
        domain: 'external',
        retriable: true,
        cause,
        at: { task },
      },
    );
  }
}
