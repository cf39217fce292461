/**
 * Retrying transient failures with capped exponential backoff and full jitter: the n-th
 * retry waits a uniformly random time in [0, min(maxDelayMs, baseDelayMs × 2^n)], so many
 * sinks failing together do not come back in lock-step.
 */
import { SinkError } from '../warehouse/errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The wait before retry number `retry` (0-based). */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * cap);
}

export interface RetryHooks {
  /** Called before each wait; e.g. to log and to drop a broken session. */
  onRetry?: (err: SinkError, retry: number, delayMs: number) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, throws something that is not a retriable SinkError, or
 * runs out of attempts (then the last error is thrown, its message saying how many).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof SinkError) || !err.retriable) throw err;
      if (attempt + 1 >= policy.attempts) {
        err.message += ` (gave up after ${policy.attempts} attempts)`;
        throw err;
      }
      const delay = backoffDelay(attempt, policy, hooks.random);
      await hooks.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
