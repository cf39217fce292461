/**
 * Errors of the state layer. To be folded into the project-wide MillraceError when it
 * exists; until then the same shape: a code, whose fault it is, whether a retry helps,
 * and a message that says what to do.
 */

/** Whose fault: the user's config or files, something outside (disk, OS), or a bug of ours. */
export type ErrorDomain = 'user' | 'external' | 'internal';

export class StateStoreError extends Error {
  /** Stable identifier, e.g. `STORE_LOCKED`, `CHECKPOINT_TOO_NEW`, `UNKNOWN_SERDE`. */
  readonly code: string;
  readonly domain: ErrorDomain;
  /** Whether trying the same thing again may succeed. */
  readonly retriable: boolean;

  constructor(
    message: string,
    opts: { code: string; domain: ErrorDomain; retriable?: boolean; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StateStoreError';
    this.code = opts.code;
    this.domain = opts.domain;
    this.retriable = opts.retriable ?? false;
  }
}
