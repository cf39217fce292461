/**
 * The contract of every trade source (Finnhub WebSocket, synthetic, replay): run until the
 * feed ends, the signal aborts or something fatal happens, handing each frame's trade
 * messages and dead letters to a `TradeSink`, awaiting it (backpressure).
 */
import type { IngestLogger } from './log.js';
import type { IngestMetrics } from './metrics.js';
import type { TradeSink } from './sink.js';

/** What every source takes: where what it reads goes, its hooks and its clock. */
export interface SourceOptions {
  /** Where trade messages and dead letters go; the source waits for it (backpressure). */
  sink: TradeSink;
  /** Counters to bind. Default: none. */
  metrics?: IngestMetrics;
  /** Structured logger. Default: silent. */
  logger?: IngestLogger;
  /** Wall clock, epoch ms (the records' `ingest_timestamp` unless told otherwise). Default `Date.now`. */
  now?: () => number;
}

/** What a source read, by the time `run` resolves. */
export interface SourceSummary {
  /** Frames (messages) read. */
  frames: number;
  /** Trade messages handed to the sink (one per symbol per frame). */
  tradeMessages: number;
  /** Trades (entries) in them. */
  trades: number;
  pings: number;
  /** Finnhub `error` messages received. */
  errors: number;
  /** Frames sent to the dead-letter topic. */
  deadLettered: number;
}

export interface TradeSource {
  /** `finnhub`, `synthetic` or `replay`. */
  readonly name: string;
  /**
   * Reads until the feed ends or `signal` aborts (then resolves after handing over what
   * was already received). Rejects on a fatal error (bad token, sink failed).
   */
  run(signal?: AbortSignal): Promise<SourceSummary>;
}

export function emptySummary(): SourceSummary {
  return { frames: 0, tradeMessages: 0, trades: 0, pings: 0, errors: 0, deadLettered: 0 };
}
