/**
 * The demo's screen: a status header and the latest VWAP window per symbol, the busiest
 * (by traded value) first. On a terminal the whole screen is redrawn each time; piped, the
 * status goes out as one line each time and the whole table every 10 s once it has rows.
 */
import type { VwapWindow } from '../../processors/market/trade.js';
import type { PipelineFigures } from './figures.js';

/** How often piped output repeats the whole table. */
const PIPED_TABLE_EVERY_MS = 10_000;
/** Rows of the table when the output is not a terminal. */
const PIPED_ROWS = 15;

export interface ScreenContent {
  /** What feeds the pipeline, e.g. "Finnhub live" or "synthetic, 50 symbols at 500 trades/s". */
  feed: string;
  duckdb: string;
  figures: PipelineFigures;
  windowsEmitted: number;
  latest: Iterable<VwapWindow>;
  warnings: readonly string[];
}

const COLUMNS: Array<[string, number, 'start' | 'end']> = [
  ['symbol', 18, 'end'],
  ['window (UTC)', 14, 'end'],
  ['vwap', 12, 'start'],
  ['volume', 12, 'start'],
  ['trades', 8, 'start'],
  ['open', 11, 'start'],
  ['high', 11, 'start'],
  ['low', 11, 'start'],
  ['close', 11, 'start'],
];

function row(cells: string[]): string {
  return cells
    .map((c, i) => {
      const [, width, pad] = COLUMNS[i]!;
      return pad === 'end' ? c.padEnd(width) : c.padStart(width);
    })
    .join('');
}

const price = (n: number | null) => (n === null ? '—' : n >= 1000 ? n.toFixed(2) : n.toFixed(4));

function windowRow(w: VwapWindow): string {
  return row([
    w.symbol.slice(0, 17),
    new Date(w.window_start).toISOString().slice(11, 16),
    price(w.vwap),
    w.volume.toFixed(2),
    String(w.trade_count),
    price(w.open),
    price(w.high),
    price(w.low),
    price(w.close),
  ]);
}

/** The two status lines. */
export function statusLines(c: ScreenContent): [string, string] {
  const f = c.figures;
  return [
    `millrace demo — ${c.feed} · 2 instances (${f.members ?? '?'} in the group, ${f.groupState ?? '?'}) · DuckDB ${c.duckdb}`,
    `input ${Math.round(f.inputPerS)} msg/s · lag ${f.lag ?? '?'} · sink ${Math.round(f.sinkRowsPerS)} rows/s, ` +
      `${f.rowsWritten} rows written · ${c.windowsEmitted} windows emitted`,
  ];
}

/** The whole screen, at most `maxRows` windows. */
export function screenLines(c: ScreenContent, maxRows: number): string[] {
  const sorted = [...c.latest].sort((x, y) => y.volume * (y.vwap ?? 0) - x.volume * (x.vwap ?? 0));
  const out = [...statusLines(c), '', row(COLUMNS.map(([name]) => name))];
  out.push(...sorted.slice(0, maxRows).map(windowRow));
  if (!sorted.length)
    out.push('(waiting for the first window to close: end of the minute + 10 s grace)');
  if (c.warnings.length) out.push('', ...c.warnings.slice(-3));
  out.push('', 'Ctrl-C stops everything the demo started.');
  return out;
}

/** Writes the screen to `out` as its kind (terminal or not) calls for. */
export class Screen {
  private tableAt = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  show(c: ScreenContent): void {
    if (this.out.isTTY) {
      const rows = Math.max(5, (this.out.rows ?? 30) - 8);
      this.out.write(`\x1b[H\x1b[2J${screenLines(c, rows).join('\n')}\n`);
    } else if (hasWindows(c) && Date.now() - this.tableAt >= PIPED_TABLE_EVERY_MS) {
      this.tableAt = Date.now();
      this.out.write(`${screenLines(c, PIPED_ROWS).join('\n')}\n`);
    } else this.out.write(`${statusLines(c).join(' | ')}\n`);
  }
}

function hasWindows(c: ScreenContent): boolean {
  for (const _ of c.latest) return true;
  return false;
}
