/** Errors of the state layer: a code, whose fault it is, whether a retry helps, and what to do. */
export class StateStoreError extends Error {
  readonly code: string;
  readonly domain: 'user' | 'external' | 'internal';
  readonly retriable: boolean;

  constructor(
    message: string,
    opts: {
      code: string;
      domain: 'user' | 'external' | 'internal';
      retriable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StateStoreError';
    this.code = opts.code;
    this.domain = opts.domain;
    this.retriable = opts.retriable ?? false;
  }
}
