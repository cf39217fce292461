/**
 * The market the synthetic feed trades: symbols of three kinds (US stocks, crypto on
 * Binance, forex on Oanda) with their own price levels, tick sizes, volume shapes and
 * trade conditions; prices random-walk (geometric, small steps); busier symbols trade
 * more often (a Zipf-like share of the flow).
 */
import { gauss, pick } from './prng.js';
import type { FinnhubTrade } from './types.js';

type AssetClass = 'stock' | 'crypto' | 'forex';

interface Instrument {
  symbol: string;
  cls: AssetClass;
  mid: number;
  decimals: number;
}

const NAMED: Array<[string, AssetClass, number]> = [
  ['AAPL', 'stock', 190],
  ['MSFT', 'stock', 410],
  ['AMZN', 'stock', 180],
  ['NVDA', 'stock', 120],
  ['GOOGL', 'stock', 170],
  ['META', 'stock', 500],
  ['TSLA', 'stock', 240],
  ['BINANCE:BTCUSDT', 'crypto', 60_000],
  ['BINANCE:ETHUSDT', 'crypto', 3_000],
  ['OANDA:EUR_USD', 'forex', 1.08],
];

/**
 * The price walk: before each trade the symbol's mid moves by a factor exp(step · N(0,1));
 * the trade's price is the mid times (1 + noise · N(0,1)).
 */
export const WALK = { step: 0.0004, noise: 0.0001 } as const;

const DECIMALS: Record<AssetClass, number> = { stock: 2, crypto: 2, forex: 5 };
const STOCK_CONDITIONS: Array<string[] | null> = [['1'], ['1'], ['1', '12'], ['12'], null];

/** The first `n` symbol names: well-known ones, then `SYN010`, `SYN011`, … */
export function symbolNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    i < NAMED.length ? NAMED[i]![0] : `SYN${String(i).padStart(3, '0')}`,
  );
}

export class SyntheticMarket {
  private readonly instruments: Instrument[];
  private readonly cumulative: number[];

  constructor(
    symbols: number,
    private readonly rnd: () => number,
  ) {
    this.instruments = symbolNames(symbols).map((symbol, i) => {
      const [, cls, level] = NAMED[i] ?? [symbol, 'stock' as const, 20 + rnd() * 480];
      return { symbol, cls, mid: level * (0.95 + rnd() * 0.1), decimals: DECIMALS[cls] };
    });
    let sum = 0;
    this.cumulative = this.instruments.map((_, i) => (sum += 1 / (i + 1) ** 0.8));
  }

  /** Index of the next symbol to trade (busier symbols more often). */
  nextSymbol(): number {
    const x = this.rnd() * this.cumulative.at(-1)!;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A new trade of symbol `k` at `t`: the mid moves a small random step first. */
  trade(k: number, t: number): FinnhubTrade {
    const ins = this.instruments[k]!;
    ins.mid *= Math.exp(WALK.step * gauss(this.rnd));
    const p = round(ins.mid * (1 + WALK.noise * gauss(this.rnd)), ins.decimals);
    return { s: ins.symbol, p, t, v: this.volume(ins), c: this.conditions(ins) };
  }

  /** One price tick of symbol `k` (the smallest price step). */
  tick(k: number): number {
    return 10 ** -this.instruments[k]!.decimals;
  }

  decimals(k: number): number {
    return this.instruments[k]!.decimals;
  }

  /** Whether `symbol` trades on a crypto venue (Finnhub sends no conditions there). */
  isCrypto(symbol: string): boolean {
    return symbol.startsWith('BINANCE:');
  }

  private volume(ins: Instrument): number {
    const g = gauss(this.rnd);
    if (ins.cls === 'crypto') return round(Math.exp(1.2 * g) * (ins.mid > 10_000 ? 0.02 : 0.3), 6);
    if (ins.cls === 'forex') return 1000 * Math.max(1, Math.round(Math.exp(g) * 10));
    // US stocks: odd lots below 100 shares, round lots in hundreds.
    return this.rnd() < 0.4
      ? 1 + pick(this.rnd, 99)
      : 100 * Math.max(1, Math.round(Math.exp(0.8 * g)));
  }

  private conditions(ins: Instrument): string[] | null {
    if (ins.cls !== 'stock') return null;
    const c = STOCK_CONDITIONS[pick(this.rnd, STOCK_CONDITIONS.length)]!;
    return c ? [...c] : null;
  }
}

/** `x` rounded to `decimals` places, without binary noise (189.47, not 189.47000000000003). */
export function round(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}
