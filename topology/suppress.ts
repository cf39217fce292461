/**
 * Suppression (Kafka Streams' `suppress`): what an aggregation's result stream offers to
 * forward fewer updates. `untilWindowCloses()` turns a windowed aggregation that emits
 * every update into its final results; `untilTimeLimit(ms)` forwards each key's newest
 * value at most once per `ms` of stream time, for windowed and key-value aggregations and
 * tables alike. The buffer is a changelogged store: what it holds survives a restart.
 */
import type { TopologyBuilder } from './builder.js';
import type { Serdes } from './serdes.js';
import { compact } from './spec.js';
import type { KStream } from './stream.js';

/** Hold each window's updates until it closes, then forward its final result. */
export interface WindowCloseSuppression {
  until: 'window-close';
}

/** Hold each key's updates for `timeLimitMs` of stream time after the first, then forward the newest. */
export interface TimeLimitSuppression {
  until: 'time-limit';
  timeLimitMs: number;
  /** Most keys held; past it the key held longest is forwarded early. */
  maxRecords?: number;
}

/**
 * Final results only: each window's newest aggregate, once, when the window closes (its
 * end + grace; for sessions its last record + gap + grace). Windowed aggregations emit so
 * by default; use it after one with `emit: 'every-update'`.
 */
export const untilWindowCloses = (): WindowCloseSuppression => ({ until: 'window-close' });

/**
 * Each key's newest value, `timeLimitMs` of stream time after its first update since the
 * last one forwarded: a rate limit per key.
 *
 * ```ts
 * clicks.groupByKey().count().suppress(untilTimeLimit(60_000, { maxRecords: 10_000 }));
 * ```
 */
export const untilTimeLimit = (
  timeLimitMs: number,
  opts: { maxRecords?: number } = {},
): TimeLimitSuppression => ({ until: 'time-limit', timeLimitMs, ...opts });

/** Options of `suppress()`. */
export interface SuppressOptions {
  /** Node name (default `suppress-<n>`). */
  name?: string;
  /** The buffer's store (default `<node>-store`). */
  store?: string;
}

/** When the results of a windowed aggregation close, for `untilWindowCloses`. */
export interface WindowClosing {
  /** A window's result is final once the clock reaches its `window_end` + this (ms). */
  closeAfterMs: number;
  idleCloseMs?: number;
}

/** Appends a `suppress` node under `parent`; returns its output stream. */
export function addSuppress<K, V>(
  b: TopologyBuilder,
  parent: { ref: string; serdes: Serdes },
  s: WindowCloseSuppression | TimeLimitSuppression,
  closing: WindowClosing | undefined,
  opts: SuppressOptions,
): KStream<K, V> {
  const name = b.nameFor('suppress', opts.name);
  const store = opts.store ?? `${name}-store`;
  const options =
    s.until === 'window-close'
      ? { until: s.until, closeAfterMs: closing?.closeAfterMs ?? 0 }
      : {
          until: s.until,
          timeLimitMs: s.timeLimitMs,
          maxRecords: s.maxRecords,
          windowed: closing ? true : undefined,
        };
  b.addNode({
    kind: 'processor',
    name,
    type: 'suppress',
    parents: [parent.ref],
    options: compact({ store, ...options, idleCloseMs: closing?.idleCloseMs }),
    stores: [store],
  });
  return b.streamOf<K, V>(name, parent.serdes);
}

/** A windowed result: the window (epoch ms) and its aggregate. */
export interface Windowed<A> {
  /** Start of the window (sessions: the first record's time). */
  window_start: number;
  /** End of the window: exclusive for time windows; the last record's time for sessions, inclusive for sliding windows. */
  window_end: number;
  value: A;
}
