/**
 * What the finnhub-vwap pipeline must produce, computed by the test from the input topic
 * as it is (partition by partition, in offset order), with logic of its own: the
 * validation rules and the trade id come from the code (they are unit-tested there),
 * dedupe, lateness and the window aggregates are re-derived here.
 */
import { brokenRule } from '../../processors/market/validate.js';
import {
  tradeUuid,
  type RawTradeMessage,
  type Trade,
  type VwapWindow,
} from '../../processors/market/trade.js';

export interface RawInput {
  partition: number;
  offset: number;
  /** The record's key as text (null: none); a key that is not the symbol is a dead letter. */
  key?: string | null;
  message: RawTradeMessage;
}

/** A window the pipeline must emit: the shape of the app's own (vwap.1m, `vwap_1m`). */
export type ExpectedWindow = VwapWindow;

export interface Expected {
  /** trades.clean / the `trades` table: the first trade of each (symbol, trade_timestamp). */
  trades: Trade[];
  /** vwap.1m / `vwap_1m`: windows whose end + grace the partition's clock passed. */
  windows: ExpectedWindow[];
  /** trades.dlq: `reason|source partition|source offset`, one entry per dead letter. */
  deadLetters: string[];
  duplicates: number;
}

export function expectedOutputs(
  rawTopic: string,
  input: RawInput[],
  o: { sizeMs?: number; graceMs?: number; maxFutureMs?: number } = {},
): Expected {
  const size = o.sizeMs ?? 60_000;
  const grace = o.graceMs ?? 10_000;
  // The app's default future bound (apps/finnhub-vwap `defaults.maxFutureMs`, a day). Not
  // imported: the app module fixes its topic names from MILLRACE_TOPIC_PREFIX when first
  // loaded, and the tests that load this file set the prefix after their static imports.
  const rules = { maxFutureMs: o.maxFutureMs ?? 86_400_000 };
  const out: Expected = { trades: [], windows: [], deadLetters: [], duplicates: 0 };
  const byPartition = new Map<number, RawInput[]>();
  for (const r of input)
    (byPartition.get(r.partition) ?? byPartition.set(r.partition, []).get(r.partition)!).push(r);
  for (const [partition, records] of byPartition) {
    records.sort((a, b) => a.offset - b.offset);
    const seen = new Set<string>();
    let clock = -1;
    // symbol|start → the trades of an open window, in processing order
    const open = new Map<string, Trade[]>();
    for (const { offset, message, key } of records) {
      if (key !== undefined && message.data.some((e) => e.s !== key)) {
        out.deadLetters.push(`key_not_symbol|${partition}|${offset}`);
        continue;
      }
      message.data.forEach((e, i) => {
        const t: Trade = {
          uuid: tradeUuid(rawTopic, partition, offset, i),
          trade_conditions: Array.isArray(e.c) && e.c.length ? e.c.join(',') : null,
          price: e.p,
          symbol: e.s,
          trade_timestamp: e.t,
          ingest_timestamp: message.ingest_timestamp,
          volume: e.v,
          type: message.type,
        };
        const rule = brokenRule(t, rules);
        if (rule) {
          out.deadLetters.push(`${rule}|${partition}|${offset}`);
          return;
        }
        const key = `${t.symbol}|${t.trade_timestamp}`;
        if (seen.has(key)) {
          out.duplicates++;
          return;
        }
        seen.add(key);
        out.trades.push(t);
        clock = Math.max(clock, t.trade_timestamp);
        const start = Math.floor(t.trade_timestamp / size) * size;
        if (start + size + grace <= clock) {
          out.deadLetters.push(`late|${partition}|${offset}`);
          return;
        }
        const wkey = `${t.symbol}|${start}`;
        (open.get(wkey) ?? open.set(wkey, []).get(wkey)!).push(t);
        for (const [k, trades] of open) {
          const s = Number(k.slice(k.lastIndexOf('|') + 1));
          if (s + size + grace > clock) continue;
          out.windows.push(aggregate(trades[0]!.symbol, s, size, trades));
          open.delete(k);
        }
      });
    }
  }
  return out;
}

function aggregate(symbol: string, start: number, size: number, trades: Trade[]): ExpectedWindow {
  let pv = 0;
  let volume = 0;
  for (const t of trades) {
    pv += t.price * t.volume;
    volume += t.volume;
  }
  // open: earliest by time, ties → first processed; close: latest by time, ties → last processed
  let first = trades[0]!;
  let last = trades[0]!;
  for (const t of trades) {
    if (t.trade_timestamp < first.trade_timestamp) first = t;
    if (t.trade_timestamp >= last.trade_timestamp) last = t;
  }
  return {
    symbol,
    window_start: start,
    window_end: start + size,
    vwap: volume === 0 ? null : pv / volume,
    volume,
    trade_count: trades.length,
    open: first.price,
    high: Math.max(...trades.map((t) => t.price)),
    low: Math.min(...trades.map((t) => t.price)),
    close: last.price,
  };
}

/** |a − b| / max(|a|, |b|) ≤ tol (both null counts as equal). */
export function closeTo(a: number | null, b: number | null, tol = 1e-9): boolean {
  if (a === null || b === null) return a === b;
  if (a === b) return true;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)) <= tol;
}
