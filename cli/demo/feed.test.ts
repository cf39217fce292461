import { describe, expect, it } from 'vitest';
import {
  MemorySink,
  noopMetrics,
  silentLogger,
  WALK,
  type TradeMessage,
} from '../../connectors/finnhub/index.js';
import { buildSource, ingestSettings } from '../commands/ingest.js';
import { backfillStartOf, ingestArgs } from './feed.js';

describe('the demo backfill', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 30);

  it('covers the last three minutes, from a minute boundary, when no run committed a clock', () => {
    expect(backfillStartOf(now, undefined)).toBe(Date.UTC(2026, 10, 25, 11, 57, 0));
  });

  it('starts just after the clock an earlier run committed, so none of it is late', () => {
    const committed = Date.UTC(2026, 10, 25, 11, 59, 10);
    expect(backfillStartOf(now, committed)).toBe(committed + 1000);
  });

  it('keeps three minutes when the committed clock is older than that', () => {
    expect(backfillStartOf(now, Date.UTC(2026, 10, 25, 9, 0, 0))).toBe(
      Date.UTC(2026, 10, 25, 11, 57, 0),
    );
  });

  it('gives no backfill (a start at or after now) when the clock is at now or ahead', () => {
    expect(backfillStartOf(now, now + 5000)).toBeGreaterThanOrEqual(now);
  });
});

describe("the demo's synthetic feed", () => {
  const NOW = Date.UTC(2026, 10, 25, 12, 0, 30);
  const plan = { live: false, symbols: 50, rate: 500, startMs: backfillStartOf(NOW, undefined) };

  /** The largest move a window of `n` trades may make: six standard deviations of the walk. */
  const walkAllows = (n: number) => 6 * WALK.step * Math.sqrt(n) + 12 * WALK.noise;

  /**
   * The one-minute windows of `messages` whose price range the walk cannot explain. Windows
   * hold what the pipeline keeps: valid trades (price and volume above 0), each symbol and
   * timestamp once, none behind a closed window (1 minute + 10 s grace behind the clock).
   */
  function jumps(messages: TradeMessage[]) {
    const windows = new Map<string, { n: number; high: number; low: number }>();
    const seen = new Set<string>();
    let clock = 0;
    for (const t of messages.flatMap((m) => m.data)) {
      const start = Math.floor(t.t / 60_000) * 60_000;
      clock = Math.max(clock, t.t);
      if (t.p <= 0 || t.v <= 0 || seen.has(`${t.s}|${t.t}`) || start + 70_000 <= clock) continue;
      seen.add(`${t.s}|${t.t}`);
      const key = `${t.s} ${new Date(start).toISOString()}`;
      const w = windows.get(key) ?? { n: 0, high: t.p, low: t.p };
      windows.set(key, { n: w.n + 1, high: Math.max(w.high, t.p), low: Math.min(w.low, t.p) });
    }
    return [...windows].filter(([, w]) => Math.log(w.high / w.low) > walkAllows(w.n));
  }

  /**
   * What `millrace ingest <args>` reads until event time `until`, taken at full speed:
   * pacing decides when frames leave, not what they hold (connectors/finnhub/synthetic.test.ts).
   */
  async function ingested(args: string[], until: number): Promise<TradeMessage[]> {
    const stop = new AbortController();
    const sink = new MemorySink();
    const accept = sink.accept.bind(sink);
    sink.accept = async (m) => {
      if (m.data[0]!.t >= until) stop.abort();
      return accept(m);
    };
    const s = ingestSettings(args.slice(1));
    const fast = { ...s, synthetic: { ...s.synthetic, catchUp: false, max: true } };
    await buildSource(fast, sink, noopMetrics, silentLogger).run(stop.signal);
    return sink.messages;
  }

  it("goes on live with the backfill's prices: no window, the handover included, moves more than the walk allows", async () => {
    const messages = await ingested(ingestArgs(plan), NOW + 90_000);
    const minutes = new Set(messages.map((m) => Math.floor(m.data[0]!.t / 60_000)));
    expect(minutes.size).toBeGreaterThanOrEqual(5);
    expect(jumps(messages)).toEqual([]);

    // The check sees a handover between two feeds of their own (what the demo did before):
    // a backfill up to NOW, then a live feed with another seed from NOW.
    const backfill = ingestArgs(plan);
    const live = ingestArgs({ ...plan, startMs: NOW }).map((a, i, all) =>
      all[i - 1] === '--seed' ? '2' : a,
    );
    const before = (await ingested(backfill, NOW)).filter((m) => m.data[0]!.t < NOW);
    const after = await ingested(live, NOW + 90_000);
    expect(jumps([...before, ...after]).length).toBeGreaterThan(5);
  });
});
