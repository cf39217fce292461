/**
 * Why an interactive query was not answered: an HTTP status, a code, and for what may pass
 * (a rebalance, a restore, an owner that is gone) a retry hint.
 */
import { MillraceError } from '../errors.js';
import type { QueryErrorBody } from './types.js';

export class QueryError extends MillraceError {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  readonly endpoint: string | undefined;

  constructor(
    message: string,
    opts: {
      code: string;
      status: number;
      retryAfterMs?: number;
      endpoint?: string;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: opts.code,
      domain: opts.status >= 500 ? 'external' : 'user',
      retriable: opts.retryAfterMs !== undefined,
      cause: opts.cause,
    });
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.endpoint = opts.endpoint;
  }

  toBody(): QueryErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        retriable: this.retriable,
        ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
        ...(this.endpoint ? { endpoint: this.endpoint } : {}),
      },
    };
  }
}

/** The partition cannot be answered now (rebalance, restore, owner gone): 503 with Retry-After. */
export function unavailable(code: string, message: string, endpoint?: string): QueryError {
  return new QueryError(
    `${message}; ask again shortly, or add stale=ok to read a copy that may be behind`,
    {
      code,
      status: 503,
      retryAfterMs: 1000,
      ...(endpoint ? { endpoint } : {}),
    },
  );
}
