/**
 * The shapes that flow out of the Finnhub sources: trades as Finnhub sends them, trade
 * messages split by symbol (the `trades.raw` value, schemas/trades-raw.avsc), and dead
 * letters (frames that could not be read, for `finnhub.dlq`).
 */

/** One trade as Finnhub sends it. */
export interface FinnhubTrade {
  /** Symbol, e.g. `AAPL`, `BINANCE:BTCUSDT`. */
  s: string;
  /** Price. */
  p: number;
  /** Trade time, epoch ms. */
  t: number;
  /** Volume (shares, coins, units). */
  v: number;
  /** Trade conditions; `null` when Finnhub sent none (absent or null). */
  c: string[] | null;
}

/** One Finnhub trade message holding ONE symbol's trades: what goes to `trades.raw`, keyed by symbol. */
export interface TradeMessage {
  type: 'trade';
  data: FinnhubTrade[];
  /** When millrace received the frame, epoch ms (virtual time for a deterministic synthetic feed). */
  ingest_timestamp: number;
}

/** Why a frame went to the dead-letter topic (the `millrace.reason` header), every one. */
export const REJECT_REASONS = [
  'not_json',
  'not_an_object',
  'unknown_type',
  'trade_without_data',
  'trade_entry_shape',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

/** Which source read a frame (the `millrace.source` header). */
export type SourceName = 'finnhub' | 'synthetic' | 'replay';

/** A frame that could not be read, kept as its original bytes for `finnhub.dlq`. */
export interface DeadLetter {
  /** The frame exactly as received. */
  bytes: Buffer;
  reason: RejectReason;
  /** What exactly was wrong (e.g. `data[2].p is not a number`), for the `millrace.error` header. */
  detail: string;
  source: SourceName;
  /** When it was received, epoch ms. */
  timestamp: number;
}
