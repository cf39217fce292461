/**
 * A synthetic Finnhub trade feed: deterministic for a seed, shaped like the real one.
 * N symbols random-walk (geometric, small steps), volumes are log-normal, trades carry
 * conditions, and configurable shares of the messages are exact duplicates, distinct
 * trades of one symbol in the same millisecond, out-of-order (a few seconds back), late
 * (past a 1-minute window's grace) or malformed (not JSON, or breaking a rule).
 */

export interface FinnhubTrade {
  s: string;
  p: number;
  t: number;
  v: number;
  c: string[] | null;
}

/** One WebSocket frame as the feed would send it (text), with what it is for tests. */
export interface SyntheticFrame {
  text: string;
  kind: 'trade' | 'duplicate' | 'same-ms' | 'out-of-order' | 'late' | 'invalid' | 'malformed';
  /** Virtual time at which the frame is emitted (epoch ms). */
  at: number;
}

export interface SyntheticOptions {
  symbols: number;
  /** Frames per second of virtual time. */
  rate: number;
  seed: number;
  /** Virtual start time (epoch ms). Default 2026-01-05T14:30:00Z. */
  startMs: number;
  shares: {
    duplicate: number;
    sameMs: number;
    outOfOrder: number;
    late: number;
    invalid: number;
    malformed: number;
  };
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
};

const BASE = [
  'AAPL',
  'MSFT',
  'AMZN',
  'NVDA',
  'GOOGL',
  'META',
  'TSLA',
  'BINANCE:BTCUSDT',
  'BINANCE:ETHUSDT',
  'OANDA:EUR_USD',
];

export function symbolNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    i < BASE.length ? BASE[i]! : `SYN${String(i).padStart(3, '0')}`,
  );
}

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONDITIONS = [['1'], ['1', '12'], ['12'], ['1', '24'], null];

export function* syntheticFeed(o: Partial<SyntheticOptions> = {}): Generator<SyntheticFrame> {
  const opts: SyntheticOptions = {
    ...defaultSynthetic,
    ...o,
    shares: { ...defaultSynthetic.shares, ...o.shares },
  };
  const rnd = prng(opts.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const names = symbolNames(opts.symbols);
  const price = names.map((_, i) => 20 + ((i * 37) % 400) + rnd() * 10);
  const recent: FinnhubTrade[] = [];
  const step = 1000 / opts.rate;
  for (let i = 0; ; i++) {
    const at = Math.round(opts.startMs + i * step);
    const k = Math.floor(rnd() * names.length);
    price[k] = Math.max(0.01, price[k]! * Math.exp(0.0005 * gauss()));
    const trade = (t: number): FinnhubTrade => ({
      s: names[k]!,
      p: round(price[k]! * (1 + 0.0002 * gauss())),
      t,
      v: round(Math.exp(gauss()) * 10),
      c: CONDITIONS[Math.floor(rnd() * CONDITIONS.length)]!,
    });
    let r = rnd();
    const s = opts.shares;
    let kind: SyntheticFrame['kind'] = 'trade';
    let data: FinnhubTrade[];
    if (r < s.malformed) {
      yield {
        text:
          rnd() < 0.5
            ? `{"type":"trade","data":[{"s":"${names[k]}","p":`
            : '{"type":"mystery","x":1}',
        kind: 'malformed',
        at,
      };
      continue;
    } else if ((r -= s.malformed) < s.duplicate && recent.length) {
      kind = 'duplicate';
      data = [recent[Math.floor(rnd() * recent.length)]!];
    } else if ((r -= s.duplicate) < s.sameMs) {
      kind = 'same-ms';
      const first = trade(at);
      data = [first, { ...trade(at), p: round(first.p + 0.01) }];
    } else if ((r -= s.sameMs) < s.outOfOrder) {
      kind = 'out-of-order';
      data = [trade(at - 1000 - Math.floor(rnd() * 4000))];
    } else if ((r -= s.outOfOrder) < s.late) {
      kind = 'late';
      data = [trade(at - 90_000 - Math.floor(rnd() * 30_000))];
    } else if ((r -= s.late) < s.invalid) {
      kind = 'invalid';
      data = [{ ...trade(at), p: rnd() < 0.5 ? -1 : 0 }];
    } else {
      data = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => trade(at));
    }
    if (kind === 'trade' || kind === 'same-ms') for (const d of data) recent.push(d);
    if (recent.length > 200) recent.splice(0, recent.length - 200);
    yield { text: JSON.stringify({ type: 'trade', data }), kind, at };
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
