/**
 * A synthetic Finnhub trade feed, deterministic for a seed: the same options give the same
 * frames, byte for byte, on every run (no wall clock inside; event time starts at
 * `startMs` and advances `1000 / rate` ms per trade).
 *
 * Besides plain trades it mixes in, at configurable shares of its events:
 * - `duplicate`: an exact copy of a recent trade, sent again;
 * - `same-ms`: two DISTINCT trades of one symbol in the same millisecond (different price
 *   or volume) — a symbol+timestamp dedupe key drops the second, a content key keeps it;
 * - `out-of-order`: a trade up to `outOfOrderMs` behind (inside a 10 s grace);
 * - `late`: a trade `lateByMs` or more behind (past a 1-minute window plus grace);
 * - `invalid`: well-formed but breaking a rule (price ≤ 0, negative volume);
 * - `malformed`: not JSON, not an object, an unknown type, or a bad trade entry.
 *
 * `syntheticFeed` yields WebSocket frames (JSON text: feed a WebSocket server or the
 * parser); `syntheticBatches` yields the same content as trades, for the faster path that
 * skips JSON.
 *
 * @example for (const f of syntheticFeed({ seed: 7, rate: 1000 })) send(f.text)
 */
import { gauss, pick, prng } from './prng.js';
import { round, SyntheticMarket } from './synthetic-market.js';
import type { FinnhubTrade } from './types.js';

export type { FinnhubTrade } from './types.js';
export { prng } from './prng.js';
export { symbolNames, WALK } from './synthetic-market.js';

export type SyntheticKind =
  'trade' | 'duplicate' | 'same-ms' | 'out-of-order' | 'late' | 'invalid' | 'malformed';

/** Shares of events (0–1 each; the rest are plain trades). */
export interface SyntheticShares {
  duplicate: number;
  sameMs: number;
  outOfOrder: number;
  late: number;
  invalid: number;
  malformed: number;
}

export interface SyntheticOptions {
  /** Number of symbols. Default 50. */
  symbols: number;
  /** Trades per second of event time. Default 1000. */
  rate: number;
  /** PRNG seed. Default 42. */
  seed: number;
  /** Event time of the first trade, epoch ms. Default 2026-01-05T14:30:00Z. */
  startMs: number;
  shares: SyntheticShares;
  /** Late trades are at least this far behind event time, ms. Default 90 000. */
  lateByMs: number;
  /** Out-of-order trades are up to this far behind, ms. Default 5 000. */
  outOfOrderMs: number;
  /** Up to this many events (usually different symbols) share one frame, as Finnhub batches. Default 1. */
  eventsPerFrame: number;
}

export const defaultSynthetic: SyntheticOptions = {
  symbols: 50,
  rate: 1000,
  seed: 42,
  startMs: Date.UTC(2026, 0, 5, 14, 30),
  shares: {
    duplicate: 0.02,
    sameMs: 0.03,
    outOfOrder: 0.02,
    late: 0.005,
    invalid: 0.005,
    malformed: 0.002,
  },
  lateByMs: 90_000,
  outOfOrderMs: 5_000,
  eventsPerFrame: 1,
};

/** One frame's worth of the feed: its trades, or the text of a malformed frame. */
export type SyntheticBatch =
  | {
      kind: Exclude<SyntheticKind, 'malformed'>;
      kinds: SyntheticKind[];
      at: number;
      trades: FinnhubTrade[];
    }
  | { kind: 'malformed'; kinds: SyntheticKind[]; at: number; text: string };

/** One WebSocket frame as the feed sends it. */
export interface SyntheticFrame {
  /** The frame, JSON text (or deliberately broken text for `malformed`). */
  text: string;
  /** What the frame's first event is (tests use it to check shares). */
  kind: SyntheticKind;
  /** Every event in the frame (more than one when `eventsPerFrame` > 1). */
  kinds: SyntheticKind[];
  /** Event time at which the frame is sent, epoch ms. */
  at: number;
}

/** Completes partial options with the defaults. */
export function syntheticOptions(o: Partial<SyntheticOptions> = {}): SyntheticOptions {
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const opts = {
    ...defaultSynthetic,
    ...given,
    shares: { ...defaultSynthetic.shares, ...o.shares },
  };
  if (
    !(opts.rate > 0) ||
    !(opts.symbols >= 1) ||
    !(opts.eventsPerFrame >= 1) ||
    !Number.isFinite(opts.startMs)
  )
    throw new RangeError(
      `synthetic feed: rate (${opts.rate}), symbols (${opts.symbols}) and eventsPerFrame (${opts.eventsPerFrame}) must be positive, startMs (${opts.startMs}) a time`,
    );
  return opts;
}

/** The feed as frames of JSON text. Infinite: stop taking when you have enough. */
export function* syntheticFeed(o: Partial<SyntheticOptions> = {}): Generator<SyntheticFrame> {
  for (const b of syntheticBatches(o)) {
    const text = b.kind === 'malformed' ? b.text : frameText(b.trades);
    yield { text, kind: b.kind, kinds: b.kinds, at: b.at };
  }
}

/** The feed as batches (one per frame). Infinite. */
export function* syntheticBatches(o: Partial<SyntheticOptions> = {}): Generator<SyntheticBatch> {
  const events = new EventMaker(syntheticOptions(o));
  for (;;) yield events.nextBatch();
}

/** Finnhub's JSON for a trade frame (crypto trades carry no `c`, as on Finnhub). */
export function frameText(trades: FinnhubTrade[]): string {
  return JSON.stringify({
    type: 'trade',
    data: trades.map((t) =>
      t.c === null && t.s.startsWith('BINANCE:') ? { s: t.s, p: t.p, t: t.t, v: t.v } : t,
    ),
  });
}

/** Draws events and advances event time; one instance per feed. */
class EventMaker {
  private readonly rnd: () => number;
  private readonly market: SyntheticMarket;
  private readonly recent: FinnhubTrade[] = [];
  private readonly step: number;
  private emitted = 0;
  private malformedNext = false;

  constructor(private readonly o: SyntheticOptions) {
    this.rnd = prng(o.seed);
    this.market = new SyntheticMarket(o.symbols, this.rnd);
    this.step = 1000 / o.rate;
  }

  nextBatch(): SyntheticBatch {
    const size = this.o.eventsPerFrame > 1 ? 1 + pick(this.rnd, this.o.eventsPerFrame) : 1;
    const kinds: SyntheticKind[] = [];
    const trades: FinnhubTrade[] = [];
    while (kinds.length < size) {
      const kind = this.malformedNext ? 'malformed' : this.drawKind();
      this.malformedNext = false;
      if (kind === 'malformed') {
        // A broken frame stands alone: close this frame and send it next.
        if (kinds.length) {
          this.malformedNext = true;
          break;
        }
        return { kind, kinds: [kind], at: this.now(), text: this.malformed() };
      }
      kinds.push(kind);
      trades.push(...this.event(kind));
    }
    return { kind: kinds[0] as Exclude<SyntheticKind, 'malformed'>, kinds, at: this.now(), trades };
  }

  private drawKind(): SyntheticKind {
    const s = this.o.shares;
    let r = this.rnd();
    for (const [kind, share] of [
      ['malformed', s.malformed],
      ['duplicate', s.duplicate],
      ['same-ms', s.sameMs],
      ['out-of-order', s.outOfOrder],
      ['late', s.late],
      ['invalid', s.invalid],
    ] as const) {
      if (r < share) return kind === 'duplicate' && !this.recent.length ? 'trade' : kind;
      r -= share;
    }
    return 'trade';
  }

  /** Event time now (of the next trade), epoch ms. */
  private now(): number {
    return Math.round(this.o.startMs + this.emitted * this.step);
  }

  private tick(): number {
    const t = this.now();
    this.emitted++;
    return t;
  }

  private event(kind: Exclude<SyntheticKind, 'malformed'>): FinnhubTrade[] {
    const k = this.market.nextSymbol();
    switch (kind) {
      case 'duplicate':
        this.emitted++;
        return [{ ...this.recent[pick(this.rnd, this.recent.length)]! }];
      case 'same-ms':
        return this.remember(this.sameMillisecond(k));
      case 'out-of-order':
        return [this.market.trade(k, this.tick() - 1 - pick(this.rnd, this.o.outOfOrderMs))];
      case 'late':
        return [this.market.trade(k, this.tick() - this.o.lateByMs - pick(this.rnd, 30_000))];
      case 'invalid':
        return [this.ruleBreaker(k)];
      case 'trade': {
        const n = 1 + pick(this.rnd, 3);
        return this.remember(Array.from({ length: n }, () => this.market.trade(k, this.tick())));
      }
    }
  }

  /** Two distinct trades of symbol `k` in one millisecond: other price, or same price other volume. */
  private sameMillisecond(k: number): FinnhubTrade[] {
    const first = this.market.trade(k, this.tick());
    const second = this.market.trade(k, first.t);
    this.emitted++;
    if (this.rnd() < 0.5) second.p = round(first.p + this.market.tick(k), this.market.decimals(k));
    else {
      second.p = first.p;
      if (second.v === first.v) second.v = first.v + 1;
    }
    return [first, second];
  }

  private ruleBreaker(k: number): FinnhubTrade {
    const t = this.market.trade(k, this.tick());
    const r = this.rnd();
    if (r < 0.4) return { ...t, p: 0 };
    if (r < 0.8) return { ...t, p: -t.p };
    return { ...t, v: -Math.abs(t.v) - 1 };
  }

  private remember(trades: FinnhubTrade[]): FinnhubTrade[] {
    this.recent.push(...trades);
    if (this.recent.length > 256) this.recent.splice(0, this.recent.length - 256);
    return trades;
  }

  private malformed(): string {
    const t = this.tick();
    const g = gauss(this.rnd).toFixed(3);
    switch (pick(this.rnd, 4)) {
      case 0:
        return `{"type":"trade","data":[{"s":"AAPL","p":1${g.replace('-', '')},"t":${t},"v`;
      case 1:
        return `{"type":"quote","data":[{"s":"MSFT","bp":${g},"t":${t}}]}`;
      case 2:
        return `{"type":"trade","data":[{"s":"AAPL","p":"189.5","t":${t},"v":100}]}`;
      default:
        return `["trade",${t}]`;
    }
  }
}
