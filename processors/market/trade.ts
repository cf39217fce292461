/**
 * The trade record of the market-data pipeline: the original pipeline's `trades` table
 * columns. Timestamps are epoch ms (Avro `timestamp-millis` on the wire, `TIMESTAMP`
 * columns in the warehouse).
 */
import { hash } from 'node:crypto';

export interface Trade {
  uuid: string;
  /** Finnhub's trade conditions joined with ","; null when the feed sent none. */
  trade_conditions: string | null;
  price: number;
  symbol: string;
  trade_timestamp: number;
  ingest_timestamp: number;
  volume: number;
  type: string;
}

/** One Finnhub trade message for one symbol, as ingested into `trades.raw`. */
export interface RawTradeMessage {
  type: string;
  data: Array<{ s: string; p: number; t: number; v: number; c?: string[] | null }>;
  ingest_timestamp: number;
}

/** The VWAP of one symbol over one tumbling window. */
export interface VwapWindow {
  symbol: string;
  window_start: number;
  window_end: number;
  /** sum(price × volume) / sum(volume); null when the volume sum is 0. */
  vwap: number | null;
  volume: number;
  trade_count: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

/**
 * A trade's id, derived from where it was read (topic, partition, offset, index in the
 * message) so a replay after a crash gives the same id, never a new one.
 */
export function tradeUuid(topic: string, partition: number, offset: number, index: number): string {
  const h = hash('sha1', `${topic}\0${partition}\0${offset}\0${index}`, 'hex');
  // Shaped as an RFC 4122 name-based (version 5) UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export type DedupeKeyKind = 'symbol+timestamp' | 'content';

/** The dedupe key, which is also the sinks' primary key. */
export function dedupeKey(t: Trade, kind: DedupeKeyKind): string {
  if (kind === 'symbol+timestamp') return `${t.symbol}\u0000${t.trade_timestamp}`;
  return `${t.symbol}\u0000${t.trade_timestamp}\u0000${t.price}\u0000${t.volume}\u0000${t.trade_conditions ?? ''}`;
}

/** Primary-key columns of the `trades` table for each dedupe key choice. */
export const TRADES_PRIMARY_KEY: Record<DedupeKeyKind, string[]> = {
  'symbol+timestamp': ['symbol', 'trade_timestamp'],
  content: ['symbol', 'trade_timestamp', 'price', 'volume', 'trade_conditions'],
};
