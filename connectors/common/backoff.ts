/**
 * Reconnect delays: capped exponential backoff with full jitter — a uniform draw in
 * [0, min(maxMs, initialMs · 2^attempt)] — so many clients dropped at once do not
 * reconnect in lockstep, and no wait exceeds the cap.
 */

export interface BackoffOptions {
  /** Ceiling of the first delay, ms. Default 500. */
  initialMs: number;
  /** Cap on any delay, ms. Default 30 000. */
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/** The largest delay attempt `attempt` (0 = first retry) may draw, ms. */
export function backoffCeiling(attempt: number, o: BackoffOptions = defaultBackoff): number {
  return Math.min(o.maxMs, o.initialMs * 2 ** Math.min(Math.max(attempt, 0), 40));
}

/**
 * The delay before retry `attempt` (0-based), ms: uniform in [0, ceiling].
 *
 * @example backoffDelay(3, { initialMs: 500, maxMs: 30_000 }) // somewhere in [0, 4000]
 */
export function backoffDelay(
  attempt: number,
  o: BackoffOptions = defaultBackoff,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * (backoffCeiling(attempt, o) + 1));
}
