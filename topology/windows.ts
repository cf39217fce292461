/**
 * Window definitions of the builder: time windows (tumbling, hopping), session windows,
 * sliding windows, and the join windows of stream-stream joins. All times are ms.
 */

/** Time windows: `sizeMs` wide, epoch-aligned, accepting records up to `graceMs` late. */
export interface TumblingWindow {
  kind?: 'time';
  sizeMs: number;
  graceMs: number;
  /** Hopping windows: one starts every `advanceMs` (absent: tumbling, one every `sizeMs`). */
  advanceMs?: number;
}

/** Time windows (tumbling or hopping); the same as `TumblingWindow`. */
export type TimeWindows = TumblingWindow;

/** Session windows: a key's records less than `gapMs` apart form one session. */
export interface SessionWindows {
  kind: 'session';
  gapMs: number;
  graceMs: number;
}

/** Sliding windows: one window for each set of a key's records at most `sizeMs` apart. */
export interface SlidingWindows {
  kind: 'sliding';
  /** The time difference: the most two records of one window are apart. */
  sizeMs: number;
  graceMs: number;
}

/**
 * Join windows of a stream-stream join: a record of this stream at `t` joins the other
 * stream's records at `t - beforeMs` … `t + afterMs`; records up to `graceMs` late still join.
 */
export interface JoinWindows {
  kind: 'join';
  beforeMs: number;
  afterMs: number;
  graceMs: number;
}

/**
 * Tumbling (non-overlapping, epoch-aligned) windows of `sizeMs` milliseconds; a window
 * accepts records until stream time passes its end + `graceMs` (default 0), then emits
 * its final result once.
 *
 * ```ts
 * stream.groupByKey().windowedBy(tumbling(60_000, 10_000)).count();
 * ```
 */
export const tumbling = (sizeMs: number, graceMs = 0): TumblingWindow => ({
  kind: 'time',
  sizeMs,
  graceMs,
});

/**
 * Hopping (overlapping, epoch-aligned) windows of `sizeMs` milliseconds, one starting every
 * `advanceMs` (at most `sizeMs`): a record counts in each of the `sizeMs / advanceMs`
 * windows that hold it. Each window emits its final result once, when stream time passes
 * its end + `graceMs`.
 *
 * ```ts
 * stream.groupByKey().windowedBy(hopping(300_000, 60_000, 10_000)).count(); // 5-minute windows every minute
 * ```
 */
export const hopping = (sizeMs: number, advanceMs: number, graceMs = 0): TumblingWindow => ({
  kind: 'time',
  sizeMs,
  graceMs,
  advanceMs,
});

/**
 * Session windows (Kafka Streams' `SessionWindows.ofInactivityGapAndGrace`): a key's
 * records at most `gapMs` apart are one session `[first, last]`; a record within the gap
 * of two sessions merges them. A session closes when stream time passes its last record +
 * `gapMs` + `graceMs`, and emits its final result once.
 *
 * ```ts
 * clicks.groupByKey().windowedBy(session(30 * 60_000, 60_000)).count(); // visits: 30 min of inactivity ends one
 * ```
 */
export const session = (gapMs: number, graceMs = 0): SessionWindows => ({
  kind: 'session',
  gapMs,
  graceMs,
});

/**
 * Sliding windows (Kafka Streams' `SlidingWindows.ofTimeDifferenceAndGrace`): a window
 * `[t - sizeMs, t]` ends at each record, and each distinct set of a key's records at most
 * `sizeMs` apart has exactly one window — "the last 10 minutes of each key", updated only
 * when its records change. A window closes when stream time passes its end + `graceMs`.
 *
 * ```ts
 * trades.groupByKey().windowedBy(sliding(600_000, 5_000)).reduce((a, b) => (a.price > b.price ? a : b));
 * ```
 */
export const sliding = (sizeMs: number, graceMs = 0): SlidingWindows => ({
  kind: 'sliding',
  sizeMs,
  graceMs,
});

/**
 * Join windows (Kafka Streams' `JoinWindows.ofTimeDifferenceAndGrace`): records of the two
 * streams join when their timestamps are at most `timeDifferenceMs` apart; pass
 * `{ beforeMs, afterMs }` for an asymmetric window (a record at `t` joins the other
 * stream's records at `t - beforeMs` … `t + afterMs`).
 *
 * ```ts
 * impressions.join(clicks, (i, c) => ({ ...i, clicked: c.at }), joinWindows(60_000, 5_000));
 * ```
 */
export function joinWindows(
  timeDifferenceMs: number | { beforeMs: number; afterMs: number },
  graceMs = 0,
): JoinWindows {
  const { beforeMs, afterMs } =
    typeof timeDifferenceMs === 'number'
      ? { beforeMs: timeDifferenceMs, afterMs: timeDifferenceMs }
      : timeDifferenceMs;
  return { kind: 'join', beforeMs, afterMs, graceMs };
}
