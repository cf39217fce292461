/**
 * Finnhub WebSocket frames → what they mean. A `trade` frame may mix symbols: it is split
 * into one `TradeMessage` per symbol (first-seen order, entries in frame order), so each
 * Kafka record holds one symbol's trades. Frames that are not JSON, not an object, of an
 * unknown type or with a malformed trade entry are rejects with a reason (→ finnhub.dlq):
 * a frame is taken whole or not at all.
 */
import type { FinnhubTrade, RejectReason, TradeMessage } from './types.js';

export type { FinnhubTrade, TradeMessage } from './types.js';

/** What one frame is. */
export type Parsed =
  | { kind: 'trades'; messages: TradeMessage[] }
  | { kind: 'ping' }
  | { kind: 'error'; message: string }
  | { kind: 'reject'; reason: RejectReason; detail: string };

/**
 * Reads one frame (text or bytes) received at `ingestTimestamp` (epoch ms).
 *
 * @example
 *   parseFrame('{"type":"trade","data":[{"s":"AAPL","p":1,"t":5,"v":2},{"s":"MSFT","p":3,"t":5,"v":1}]}', 9)
 *   // { kind: 'trades', messages: [AAPL message, MSFT message] }
 */
export function parseFrame(frame: string | Buffer, ingestTimestamp: number): Parsed {
  let m: unknown;
  try {
    m = JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8'));
  } catch (err) {
    return reject('not_json', (err as Error).message);
  }
  if (!m || typeof m !== 'object' || Array.isArray(m))
    return reject('not_an_object', `a JSON ${Array.isArray(m) ? 'array' : typeof m}`);
  const msg = m as { type?: unknown; data?: unknown; msg?: unknown };
  if (msg.type === 'ping') return { kind: 'ping' };
  if (msg.type === 'error') return { kind: 'error', message: String(msg.msg ?? '') };
  if (msg.type !== 'trade')
    return reject('unknown_type', `type ${JSON.stringify(msg.type ?? null)?.slice(0, 60)}`);
  return parseTrades(msg.data, ingestTimestamp);
}

function parseTrades(data: unknown, ingestTimestamp: number): Parsed {
  if (!Array.isArray(data) || data.length === 0)
    return reject('trade_without_data', Array.isArray(data) ? 'data is empty' : 'no data array');
  const trades: FinnhubTrade[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const entry = toTrade(data[i]);
    if (typeof entry === 'string') return reject('trade_entry_shape', `data[${i}]${entry}`);
    trades[i] = entry;
  }
  return { kind: 'trades', messages: splitBySymbol(trades, ingestTimestamp) };
}

/** The trade in `d`, or what is wrong with it (`.p is not a number`). */
function toTrade(d: unknown): FinnhubTrade | string {
  if (!d || typeof d !== 'object') return ' is not an object';
  const e = d as Record<string, unknown>;
  if (typeof e.s !== 'string' || e.s === '') return '.s is not a symbol';
  for (const f of ['p', 't', 'v'] as const)
    if (typeof e[f] !== 'number') return `.${f} is not a number`;
  // trades.raw holds the time as an Avro long: a time no long can hold (1e20, or 1e400,
  // which JSON reads as Infinity) is this frame's fault, not a reason to stop the ingest.
  if (!Number.isSafeInteger(Math.trunc(e.t as number)))
    return '.t is not a time in epoch milliseconds (an integer within ±2^53)';
  const c = e.c;
  if (c !== undefined && c !== null && !(Array.isArray(c) && c.every(isScalar)))
    return '.c is not a list of conditions';
  return {
    s: e.s,
    p: e.p as number,
    t: Math.trunc(e.t as number),
    v: e.v as number,
    c: Array.isArray(c) ? c.map(String) : null,
  };
}

const isScalar = (x: unknown) => typeof x === 'string' || typeof x === 'number';

/**
 * Groups trades by symbol, one message per symbol in first-seen order.
 *
 * @example splitBySymbol([aapl1, msft1, aapl2], 9) // [{data:[aapl1, aapl2]}, {data:[msft1]}]
 */
export function splitBySymbol(trades: FinnhubTrade[], ingestTimestamp: number): TradeMessage[] {
  if (trades.every((t) => t.s === trades[0]!.s))
    return [{ type: 'trade', data: trades, ingest_timestamp: ingestTimestamp }];
  const bySymbol = new Map<string, FinnhubTrade[]>();
  for (const t of trades) {
    const list = bySymbol.get(t.s);
    if (list) list.push(t);
    else bySymbol.set(t.s, [t]);
  }
  return [...bySymbol.values()].map((data) => ({
    type: 'trade',
    data,
    ingest_timestamp: ingestTimestamp,
  }));
}

function reject(reason: RejectReason, detail: string): Parsed {
  return { kind: 'reject', reason, detail };
}
