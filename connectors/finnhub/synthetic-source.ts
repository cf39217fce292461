/**
 * The synthetic feed as a `TradeSource`: paced to event time (`rate` trades/s of wall
 * time) or as fast as the sink takes it, until a frame count, a duration or the signal.
 *
 * @example
 *   const source = new SyntheticSource({ sink, feed: { symbols: 50, rate: 2000, seed: 7 } });
 *   await source.run(AbortSignal.timeout(10_000));
 */
import { DispatchingSource } from './dispatch.js';
import { splitBySymbol, type Parsed } from './messages.js';
import type { SourceOptions, SourceSummary } from './source.js';
import {
  frameText,
  syntheticBatches,
  syntheticOptions,
  type SyntheticBatch,
  type SyntheticOptions,
} from './synthetic.js';
import { sleep, yieldToEventLoop } from './timing.js';

export interface SyntheticSourceOptions extends SourceOptions {
  /** Feed settings (symbols, rate in trades/s, seed, startMs, shares…); defaults in `defaultSynthetic`. */
  feed?: Partial<SyntheticOptions>;
  /**
   * `realtime` (default): frames leave as the wall clock advances as far from the start as
   * their event time. `max`: as fast as the sink accepts. `catch-up`: a frame whose event
   * time the wall clock has passed leaves at once (as fast as the sink accepts), a later
   * one when the wall clock reaches its event time — a feed started in the past backfills
   * up to now, then goes on live, one price walk throughout.
   */
  pace?: 'realtime' | 'max' | 'catch-up';
  /**
   * true: `ingest_timestamp` is each frame's event time, and event time starts at
   * `feed.startMs` (default 2026-01-05T14:30Z): the same options give the same records.
   * false (default): the wall clock, and event time starts now unless `feed.startMs` is set.
   */
  deterministic?: boolean;
  /** Stop after this many frames. Default: no limit. */
  maxFrames?: number;
  /** Stop after this long of wall time, ms. Default: no limit. */
  durationMs?: number;
  /** `batches` (default) hands trades over without JSON; `frames` renders and parses each frame like the WebSocket path. */
  path?: 'batches' | 'frames';
}

export class SyntheticSource extends DispatchingSource {
  constructor(private readonly o: SyntheticSourceOptions) {
    super('synthetic', o);
  }

  async run(signal?: AbortSignal): Promise<SourceSummary> {
    const wallStart = this.now();
    const feed = syntheticOptions({
      ...this.o.feed,
      startMs: this.o.feed?.startMs ?? (this.o.deterministic ? undefined : wallStart),
    });
    const maxFrames = this.o.maxFrames ?? Infinity;
    const endAt = wallStart + (this.o.durationMs ?? Infinity);
    let n = 0;
    for (const batch of syntheticBatches(feed)) {
      if (n >= maxFrames || signal?.aborted || this.now() >= endAt) break;
      await this.pace(batch.at, n, feed.startMs - wallStart, signal);
      if (signal?.aborted) break;
      n++;
      await this.deliver(batch, this.o.deterministic ? batch.at : this.now());
    }
    return this.summary;
  }

  /**
   * Waits until frame `n` (event time `at`) is due. `offset`: the feed's start minus the
   * wall clock's at the run's start (realtime pacing keeps that distance).
   */
  private async pace(at: number, n: number, offset: number, signal?: AbortSignal): Promise<void> {
    const pace = this.o.pace ?? 'realtime';
    const wait = pace === 'max' ? 0 : at - this.now() - (pace === 'catch-up' ? 0 : offset);
    if (wait > 0) await sleep(wait, signal);
    else if (pace !== 'realtime' && n % 512 === 0) await yieldToEventLoop();
  }

  private deliver(batch: SyntheticBatch, ingestTs: number): Promise<unknown> {
    if (batch.kind === 'malformed') return this.dispatcher.dispatch(batch.text, ingestTs);
    if (this.o.path === 'frames')
      return this.dispatcher.dispatch(frameText(batch.trades), ingestTs);
    const parsed: Parsed = { kind: 'trades', messages: splitBySymbol(batch.trades, ingestTs) };
    return this.dispatcher.deliver(parsed, '', ingestTs);
  }
}
