import { describe, expect, it } from 'vitest';
import { parseFrame } from './messages.js';
import { MemorySink } from './sink.js';
import { SyntheticSource } from './synthetic-source.js';
import {
  defaultSynthetic,
  syntheticFeed,
  type SyntheticFrame,
  type SyntheticOptions,
} from './synthetic.js';
import type { FinnhubTrade } from './types.js';

const START = 1_700_000_000_000;

function take(n: number, o: Partial<SyntheticOptions> = {}): SyntheticFrame[] {
  const out: SyntheticFrame[] = [];
  for (const f of syntheticFeed({ startMs: START, ...o })) {
    out.push(f);
    if (out.length >= n) break;
  }
  return out;
}

const tradesOf = (f: SyntheticFrame): FinnhubTrade[] => {
  const p = parseFrame(f.text, f.at);
  return p.kind === 'trades' ? p.messages.flatMap((m) => m.data) : [];
};

async function runSource(
  opts: ConstructorParameters<typeof SyntheticSource>[0] extends infer O ? Partial<O> : never,
) {
  const sink = new MemorySink();
  const source = new SyntheticSource({
    sink,
    pace: 'max',
    deterministic: true,
    maxFrames: 3000,
    ...opts,
  });
  const summary = await source.run();
  return { sink, summary };
}

describe('synthetic Finnhub feed', () => {
  it('is deterministic for a seed (frames byte for byte) and differs across seeds', () => {
    expect(take(3000, { seed: 7 })).toEqual(take(3000, { seed: 7 }));
    expect(take(50, { seed: 7 }).map((f) => f.text)).not.toEqual(
      take(50, { seed: 8 }).map((f) => f.text),
    );
  });

  it('deterministic sources produce identical records whatever the wall clock says', async () => {
    const a = await runSource({ feed: { seed: 5 }, now: () => 1 });
    const b = await runSource({ feed: { seed: 5 }, now: () => 9_999_999_999_999 });
    expect(a.sink.messages.length).toBeGreaterThan(2900);
    expect(b.sink.messages).toEqual(a.sink.messages);
    expect(b.sink.deadLetters).toEqual(a.sink.deadLetters);
    const first = a.sink.messages[0]!;
    expect(first.data[0]!.t).toBe(Date.UTC(2026, 0, 5, 14, 30));
    expect(first.ingest_timestamp).toBeGreaterThan(first.data.at(-1)!.t);
  });

  it('the fast path (no JSON) hands over exactly what the frame path does', async () => {
    const fast = await runSource({ feed: { seed: 9, eventsPerFrame: 3 }, path: 'batches' });
    const frames = await runSource({ feed: { seed: 9, eventsPerFrame: 3 }, path: 'frames' });
    expect(fast.sink.messages).toEqual(frames.sink.messages);
    expect(fast.sink.deadLetters).toEqual(frames.sink.deadLetters);
    expect(fast.summary).toEqual(frames.summary);
  });

  it('produces every kind at roughly its configured share', () => {
    const shares = {
      duplicate: 0.04,
      sameMs: 0.05,
      outOfOrder: 0.03,
      late: 0.01,
      invalid: 0.01,
      malformed: 0.01,
    };
    const frames = take(40_000, { shares });
    const share = (k: SyntheticFrame['kind']) =>
      frames.filter((f) => f.kind === k).length / frames.length;
    for (const [kind, want] of [
      ['duplicate', shares.duplicate],
      ['same-ms', shares.sameMs],
      ['out-of-order', shares.outOfOrder],
      ['late', shares.late],
      ['invalid', shares.invalid],
      ['malformed', shares.malformed],
    ] as const) {
      expect(share(kind), kind).toBeGreaterThan(want * 0.8);
      expect(share(kind), kind).toBeLessThan(want * 1.2);
    }
    expect(
      take(5000, { shares: { ...shares, duplicate: 0, malformed: 0 } }).some(
        (f) => f.kind === 'duplicate' || f.kind === 'malformed',
      ),
    ).toBe(false);
  });

  it('each kind is what it says', () => {
    const frames = take(30_000, { lateByMs: 70_000, outOfOrderMs: 4000 });
    const seen = new Set<string>();
    const key = (t: FinnhubTrade) => JSON.stringify(t);
    for (const f of frames) {
      const trades = tradesOf(f);
      switch (f.kind) {
        case 'duplicate':
          expect(trades).toHaveLength(1);
          expect(seen.has(key(trades[0]!))).toBe(true);
          break;
        case 'same-ms': {
          const [a, b] = trades;
          expect(a!.s).toBe(b!.s);
          expect(a!.t).toBe(b!.t);
          expect(a!.p !== b!.p || a!.v !== b!.v).toBe(true);
          break;
        }
        case 'late':
          expect(f.at - trades[0]!.t).toBeGreaterThanOrEqual(70_000);
          break;
        case 'out-of-order':
          expect(f.at - trades[0]!.t).toBeGreaterThan(0);
          expect(f.at - trades[0]!.t).toBeLessThanOrEqual(4000);
          break;
        case 'invalid':
          expect(trades[0]!.p <= 0 || trades[0]!.v < 0).toBe(true);
          break;
        case 'malformed':
          expect(parseFrame(f.text, 0).kind).toBe('reject');
          break;
        case 'trade':
          for (const t of trades) {
            expect(t.p).toBeGreaterThan(0);
            expect(t.v).toBeGreaterThan(0);
          }
      }
      for (const t of trades) seen.add(key(t));
    }
    const reasons = new Set(
      frames
        .filter((f) => f.kind === 'malformed')
        .map((f) => (parseFrame(f.text, 0) as { reason: string }).reason),
    );
    expect([...reasons].sort()).toEqual([
      'not_an_object',
      'not_json',
      'trade_entry_shape',
      'unknown_type',
    ]);
  });

  it('advances event time by 1/rate per trade from the start time', () => {
    const frames = take(10_000, {
      rate: 500,
      shares: { duplicate: 0, sameMs: 0, outOfOrder: 0, late: 0, invalid: 0, malformed: 0 },
    });
    const trades = frames.flatMap(tradesOf);
    expect(trades[0]!.t).toBe(START);
    const spanS = (trades.at(-1)!.t - START) / 1000;
    expect(spanS).toBeCloseTo((trades.length - 1) / 500, 1);
  });

  it('looks like a market: busy and quiet symbols, stock conditions, crypto without them', () => {
    const trades = take(20_000, { symbols: 50 }).flatMap(tradesOf);
    const bySymbol = new Map<string, number>();
    for (const t of trades) bySymbol.set(t.s, (bySymbol.get(t.s) ?? 0) + 1);
    expect(bySymbol.size).toBe(50);
    expect(bySymbol.get('AAPL')!).toBeGreaterThan(5 * bySymbol.get('SYN049')!);
    const btc = trades.filter((t) => t.s === 'BINANCE:BTCUSDT' && t.p > 0);
    expect(btc.every((t) => t.c === null && t.p > 40_000 && t.p < 80_000)).toBe(true);
    const aapl = trades.filter((t) => t.s === 'AAPL' && t.p > 0 && t.v > 0);
    expect(aapl.some((t) => t.c?.includes('12'))).toBe(true);
    expect(aapl.every((t) => Number.isInteger(t.v) && Math.round(t.p * 100) / 100 === t.p)).toBe(
      true,
    );
  });

  it('mixes symbols in one frame when eventsPerFrame > 1, and malformed frames stay alone', () => {
    const frames = take(5000, { eventsPerFrame: 4 });
    const mixed = frames.filter((f) => new Set(tradesOf(f).map((t) => t.s)).size > 1);
    expect(mixed.length).toBeGreaterThan(1000);
    for (const f of frames.filter((x) => x.kinds.includes('malformed')))
      expect(f.kinds).toEqual(['malformed']);
  });

  it('catch-up pacing: what is behind the clock goes at once, then frames wait for the clock', async () => {
    // The wall clock starts 5 s into the feed and runs for real for 300 ms.
    const realStart = Date.now();
    const now = () => START + 5000 + (Date.now() - realStart);
    const early: number[] = [];
    const sink = new MemorySink();
    const accept = sink.accept.bind(sink);
    sink.accept = async (m) => {
      if (m.data[0]!.t > now()) early.push(m.data[0]!.t - now());
      return accept(m);
    };
    await new SyntheticSource({
      sink,
      pace: 'catch-up',
      deterministic: true,
      feed: {
        startMs: START,
        rate: 1000,
        shares: { ...defaultSynthetic.shares, late: 0, outOfOrder: 0, malformed: 0 },
      },
      durationMs: 300,
      now,
    }).run();
    const times = sink.messages.map((m) => m.data[0]!.t);
    expect(early).toEqual([]);
    // The backlog went out whole, and the feed kept up with the clock to the end.
    expect(times[0]).toBe(START);
    expect(times.filter((t) => t < START + 5000).length).toBeGreaterThan(2000);
    expect(Math.max(...times)).toBeGreaterThan(START + 5300 - 250);
  });
});
