/**
 * Finnhub WebSocket frames → trade messages per symbol (what goes to trades.raw). A frame
 * may mix symbols; it is split so each Kafka record holds one symbol's trades. Frames that
 * are not JSON or not a known type are returned as rejects with a reason (→ finnhub.dlq).
 */
import type { FinnhubTrade } from './synthetic.js';

export interface TradeMessage {
  type: 'trade';
  data: FinnhubTrade[];
  ingest_timestamp: number;
}

export type Parsed =
  | { kind: 'trades'; messages: TradeMessage[] }
  | { kind: 'ping' }
  | { kind: 'error'; message: string }
  | { kind: 'reject'; reason: string };

export function parseFrame(text: string, ingestTimestamp: number): Parsed {
  let m: any;
  try {
    m = JSON.parse(text);
  } catch {
    return { kind: 'reject', reason: 'not_json' };
  }
  if (!m || typeof m !== 'object') return { kind: 'reject', reason: 'not_an_object' };
  if (m.type === 'ping') return { kind: 'ping' };
  if (m.type === 'error') return { kind: 'error', message: String(m.msg ?? '') };
  if (m.type !== 'trade')
    return { kind: 'reject', reason: `unknown_type_${String(m.type).slice(0, 40)}` };
  if (!Array.isArray(m.data)) return { kind: 'reject', reason: 'trade_without_data' };
  const bySymbol = new Map<string, FinnhubTrade[]>();
  for (const d of m.data as any[]) {
    if (
      !d ||
      typeof d.s !== 'string' ||
      typeof d.p !== 'number' ||
      typeof d.t !== 'number' ||
      typeof d.v !== 'number'
    ) {
      return { kind: 'reject', reason: 'trade_entry_shape' };
    }
    const entry: FinnhubTrade = {
      s: d.s,
      p: d.p,
      t: Math.trunc(d.t),
      v: d.v,
      c: Array.isArray(d.c) ? d.c.map(String) : null,
    };
    (bySymbol.get(d.s) ?? bySymbol.set(d.s, []).get(d.s)!).push(entry);
  }
  return {
    kind: 'trades',
    messages: [...bySymbol.values()].map((data) => ({
      type: 'trade',
      data,
      ingest_timestamp: ingestTimestamp,
    })),
  };
}
