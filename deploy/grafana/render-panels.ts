/**
 * Draws the Grafana dashboard's panels without Grafana: each panel's targets run against a
 * real Prometheus (query_range, variables substituted as Grafana does — dashboard.ts),
 * drawn as simple SVG time series laid out by the panels' gridPos, with their titles and
 * units, into one HTML page that a headless Chromium screenshots.
 *
 *   npm run dashboard:render -- --prometheus http://127.0.0.1:9090 [--last 15m]
 *     [--scrape-interval 5s] [--var app=finnhub-vwap] [--out docs/img/dashboard-panels.png]
 *     [--html FILE]
 *
 * It is millrace's own renderer, not Grafana: no thresholds, overrides, stacking or
 * panel types other than time series.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  loadDashboard,
  runPanel,
  variableOptions,
  type Dashboard,
  type Panel,
  type QueryContext,
  type Selection,
  type TargetResult,
} from './dashboard.js';

/** Grafana's classic palette. */
const COLORS = [
  '#7EB26D',
  '#EAB839',
  '#6ED0E0',
  '#EF843C',
  '#E24D42',
  '#1F78C1',
  '#BA43A9',
  '#705DA0',
  '#508642',
  '#CCA300',
];
const ROW_PX = 30;
const GAP_PX = 8;
const COLUMNS = 24;

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const trim = (n: number) => String(Number(n.toPrecision(3)));

function scaled(v: number, base: number, units: string[]): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return `${trim(x)}${units[i]}`;
}

/** The Grafana units `formatValue` knows; others would be drawn as plain numbers. */
export const KNOWN_UNITS = ['ops', 'bytes', 'percentunit', 's', 'short'];

/** A value as Grafana's unit shows it (the units the dashboard uses; others as numbers). */
export function formatValue(v: number, unit = 'short'): string {
  if (!Number.isFinite(v)) return String(v);
  switch (unit) {
    case 'ops':
      return `${scaled(v, 1000, ['', ' K', ' M', ' B'])} ops/s`;
    case 'bytes':
      return scaled(v, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB']);
    case 'percentunit':
      return `${trim(v * 100)}%`;
    case 's': {
      const a = Math.abs(v);
      if (a === 0) return '0 s';
      if (a < 1e-3) return `${trim(v * 1e6)} µs`;
      if (a < 1) return `${trim(v * 1e3)} ms`;
      if (a < 60) return `${trim(v)} s`;
      return `${trim(v / 60)} min`;
    }
    default:
      return scaled(v, 1000, ['', ' K', ' Mil', ' Bil']);
  }
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  let t = Math.floor(min / step) * step;
  do {
    ticks.push(Number(t.toPrecision(12)));
    t += step;
  } while (ticks.at(-1)! < max - step * 1e-9);
  return ticks;
}

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

interface Size {
  width: number;
  height: number;
}

/** The plotting area and the scales from time and value to it. */
interface Plot {
  x: number;
  y: number;
  w: number;
  h: number;
  xOf(t: number): number;
  yOf(v: number): number;
}

/** Horizontal grid lines and value labels at `ticks`. */
function valueAxis(p: Plot, ticks: number[], unit: string): string[] {
  return ticks.flatMap((t) => {
    const y = p.yOf(t).toFixed(1);
    return [
      `<line x1="${p.x}" x2="${p.x + p.w}" y1="${y}" y2="${y}" class="grid"/>`,
      `<text x="${p.x - 6}" y="${Number(y) + 4}" text-anchor="end" class="axis">${escape(formatValue(t, unit))}</text>`,
    ];
  });
}

/** Vertical grid lines and hh:mm:ss labels, none under the value labels or past the edge. */
function timeAxis(p: Plot, range: { fromMs: number; toMs: number }): string[] {
  const ticks = niceTimeTicks(range.fromMs, range.toMs, Math.max(2, Math.floor(p.w / 110)));
  return ticks
    .filter((t) => p.xOf(t) > p.x + 25 && p.xOf(t) < p.x + p.w - 25)
    .flatMap((t) => {
      const x = p.xOf(t).toFixed(1);
      return [
        `<line x1="${x}" x2="${x}" y1="${p.y}" y2="${p.y + p.h}" class="grid"/>`,
        `<text x="${x}" y="${p.y + p.h + 15}" text-anchor="middle" class="axis">${hhmmss(t)}</text>`,
      ];
    });
}

/** Each series as lines (a lone point as a dot), broken where it has no value. */
function seriesLines(p: Plot, series: TargetResult['series']): string[] {
  return series.flatMap((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    return finiteRuns(s.points).map((run) => {
      if (run.length === 1)
        return `<circle cx="${p.xOf(run[0]![0])}" cy="${p.yOf(run[0]![1])}" r="1.8" fill="${color}"/>`;
      const d = run.map(
        ([t, v], j) => `${j ? 'L' : 'M'}${p.xOf(t).toFixed(1)},${p.yOf(v).toFixed(1)}`,
      );
      return `<path d="${d.join('')}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
    });
  });
}

/** The plot of `values` in a panel of `size` with `legendRows` rows of legend, and its ticks. */
function plotFor(
  size: Size,
  legendRows: number,
  values: number[],
  range: { fromMs: number; toMs: number },
): { plot: Plot; ticks: number[] } {
  const [top, left] = [30, 74];
  const w = size.width - left - 14;
  const h = size.height - top - 20 - legendRows * 16 - 8;
  const lo = Math.min(0, ...values);
  const hiRaw = Math.max(...values);
  const ticks = niceTicks(lo, hiRaw > lo ? hiRaw : lo + 1);
  const [min, hi] = [ticks[0]!, ticks.at(-1)!];
  const xOf = (t: number) => left + ((t - range.fromMs) / (range.toMs - range.fromMs)) * w;
  const yOf = (v: number) => top + h - ((v - min) / (hi - min)) * h;
  return { plot: { x: left, y: top, w, h, xOf, yOf }, ticks };
}

/** One panel as SVG: title, y axis in the panel's unit, time axis, lines, legend. */
export function panelSvg(
  panel: Panel,
  results: TargetResult[],
  size: Size,
  range: { fromMs: number; toMs: number },
): string {
  const unit = panel.fieldConfig?.defaults?.unit ?? 'short';
  const series = results.flatMap((r) => r.series);
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter(Number.isFinite));
  const legendRows = Math.min(3, Math.ceil(series.length / 3));
  const parts = [
    `<rect x="0.5" y="0.5" width="${size.width - 1}" height="${size.height - 1}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="10" y="19" class="title">${escape(panel.title)}</text>`,
  ];
  if (!values.length) {
    parts.push(
      `<text x="${size.width / 2}" y="${size.height / 2}" text-anchor="middle" class="nodata">No data</text>`,
    );
    return svg(size, parts);
  }
  const { plot, ticks } = plotFor(size, legendRows, values, range);
  parts.push(
    ...valueAxis(plot, ticks, unit),
    ...timeAxis(plot, range),
    ...seriesLines(plot, series),
  );
  parts.push(...legend(series, { x: 10, y: plot.y + plot.h + 34, w: size.width - 20 }, legendRows));
  return svg(size, parts);
}

function svg(size: Size, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" viewBox="0 0 ${size.width} ${size.height}">${parts.join('')}</svg>`;
}

/** Points split where Prometheus has no value, so gaps stay gaps as in Grafana. */
function finiteRuns(points: Array<[number, number]>): Array<Array<[number, number]>> {
  const runs: Array<Array<[number, number]>> = [[]];
  let prev: number | undefined;
  const step =
    points.length > 1 ? Math.min(...points.slice(1).map((p, i) => p[0] - points[i]![0])) : 0;
  for (const p of points) {
    if (!Number.isFinite(p[1]) || (prev !== undefined && p[0] - prev > 1.5 * step)) runs.push([]);
    if (Number.isFinite(p[1])) runs.at(-1)!.push(p);
    prev = p[0];
  }
  return runs.filter((r) => r.length);
}

function niceTimeTicks(from: number, to: number, count: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].map((s) => s * 1000);
  const step = steps.find((s) => (to - from) / s <= count) ?? steps.at(-1)!;
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

function legend(
  series: Array<{ name: string }>,
  box: { x: number; y: number; w: number },
  rows: number,
): string[] {
  const out: string[] = [];
  let x = box.x;
  let row = 0;
  for (let i = 0; i < series.length; i++) {
    const label = series[i]!.name;
    const w = 18 + Math.min(label.length, 48) * 6.2 + 14;
    if (x + w > box.x + box.w && x > box.x) {
      row++;
      x = box.x;
    }
    if (row >= rows) {
      out.push(
        `<text x="${box.x + box.w}" y="${box.y + (rows - 1) * 16}" text-anchor="end" class="legend">+${series.length - i} more</text>`,
      );
      break;
    }
    const y = box.y + row * 16;
    const text = label.length > 48 ? `${label.slice(0, 47)}…` : label;
    out.push(
      `<rect x="${x}" y="${y - 8}" width="12" height="3" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${x + 17}" y="${y - 3}" class="legend">${escape(text)}</text>`,
    );
    x += w;
  }
  return out;
}

export interface RenderedPanel {
  panel: Panel;
  results: TargetResult[];
}

/** The page: a header saying what it is, then every panel at its gridPos. */
export function dashboardHtml(
  dash: Dashboard,
  panels: RenderedPanel[],
  o: { fromMs: number; toMs: number; width: number; note: string; vars: Record<string, Selection> },
): string {
  const col = (o.width - 2 * GAP_PX + GAP_PX) / COLUMNS;
  const header = 64;
  const boxes = panels.map(({ panel, results }) => {
    const g = panel.gridPos;
    const size = {
      width: Math.round(g.w * col - GAP_PX),
      height: g.h * (ROW_PX + GAP_PX) - GAP_PX,
    };
    const left = Math.round(GAP_PX + g.x * col);
    const top = header + g.y * (ROW_PX + GAP_PX);
    return `<div class="panel" data-panel-id="${panel.id}" style="left:${left}px;top:${top}px">${panelSvg(panel, results, size, o)}</div>`;
  });
  const bottom = Math.max(
    ...panels.map((p) => header + (p.panel.gridPos.y + p.panel.gridPos.h) * (ROW_PX + GAP_PX)),
  );
  const vars = Object.entries(o.vars)
    .map(([k, s]) => `${k} = ${s.all ? 'All' : s.values.join(', ')}`)
    .join(' · ');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(dash.title)} panels</title><style>
body{margin:0;background:#111217;color:#ccccdc;font:13px Inter,Helvetica,Arial,sans-serif;width:${o.width}px;height:${bottom}px;position:relative}
header{position:absolute;left:${GAP_PX}px;top:8px;right:${GAP_PX}px}
header h1{font-size:17px;margin:0 0 4px;font-weight:500;color:#d8d9da}
header p{margin:0;color:#8e8e8e;font-size:12px}
.panel{position:absolute}
.title{fill:#d8d9da;font-size:13px;font-weight:500}
.axis{fill:#8e8e8e;font-size:11px}
.legend{fill:#ccccdc;font-size:11px}
.nodata{fill:#6e6e6e;font-size:14px}
.grid{stroke:#2c3235;stroke-width:1}
</style></head><body>
<header><h1>${escape(dash.title)} — ${escape(o.note)}</h1>
<p>${hhmmss(o.fromMs)}–${hhmmss(o.toMs)} UTC${vars ? ` · ${escape(vars)}` : ''}</p></header>
${boxes.join('\n')}
</body></html>`;
}

export const HONEST_NOTE =
  "the dashboard's panel queries, rendered from a real Prometheus by millrace's own renderer, not by Grafana";

export interface RenderOptions {
  promUrl: string;
  fromMs: number;
  toMs: number;
  /** The data source's scrape interval (Grafana's `timeInterval`), ms. */
  scrapeIntervalMs: number;
  /** Variables not given are "All". */
  vars?: Record<string, Selection>;
  /** Page width in px (the panels' widths follow, 24 columns). Default 1600. */
  width?: number;
  dashboard?: Dashboard;
}

/** Runs every panel's targets and lays them out as a page (no browser needed). */
export async function renderPanels(
  o: RenderOptions,
): Promise<{ html: string; panels: RenderedPanel[] }> {
  const dash = o.dashboard ?? loadDashboard();
  const width = o.width ?? 1600;
  const vars = { ...(await variableOptions(o.promUrl, dash)), ...o.vars };
  const col = width / COLUMNS;
  const panels = await Promise.all(
    dash.panels.map(async (panel) => {
      const ctx: QueryContext = {
        fromMs: o.fromMs,
        toMs: o.toMs,
        maxDataPoints: Math.round(panel.gridPos.w * col),
        scrapeIntervalMs: o.scrapeIntervalMs,
        vars,
      };
      return { panel, results: await runPanel(o.promUrl, dash, panel, ctx) };
    }),
  );
  const html = dashboardHtml(dash, panels, { ...o, width, note: HONEST_NOTE, vars });
  return { html, panels };
}

/** The first Chromium found: $MILLRACE_CHROMIUM, then `chromium` / `chromium-browser` on PATH. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.MILLRACE_CHROMIUM ?? ''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter))
    if (dir) candidates.push(path.join(dir, 'chromium'), path.join(dir, 'chromium-browser'));
  return candidates.find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Opens `html` in headless Chromium (playwright-core) and saves a full-page PNG. */
export async function screenshot(html: string, out: string, width = 1600): Promise<void> {
  const executablePath = chromiumPath();
  if (!executablePath)
    throw new Error(
      'chromium not found: run `bash deploy/local/ensure-tools.sh` (apt-get install chromium) or set MILLRACE_CHROMIUM',
    );
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    // The sandbox refuses root (CI); a small /dev/shm crashes tabs in containers.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    await page.setContent(html, { waitUntil: 'load' });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
}

function parseMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (!m) throw new Error(`${v} is not a duration; write e.g. 5s, 15m or 1h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

const USAGE =
  'usage: npm run dashboard:render -- --prometheus URL [--last 15m] [--scrape-interval 5s] [--var name=value[,value…] …] [--out PNG] [--html FILE]\n';
const FLAGS = ['prometheus', 'last', 'scrape-interval', 'var', 'out', 'html'];

async function main(argv: string[]): Promise<void> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!.replace(/^--/, '');
    if (!FLAGS.includes(k) || argv[i + 1] === undefined) {
      process.stderr.write(`${argv[i]}: unknown flag or no value\n${USAGE}`);
      process.exit(2);
    }
    flags.set(k, [...(flags.get(k) ?? []), argv[i + 1]!]);
  }
  const one = (k: string, d?: string) => flags.get(k)?.at(-1) ?? d;
  const promUrl = one('prometheus');
  if (!promUrl) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  const toMs = Date.now();
  const vars: Record<string, Selection> = {};
  for (const kv of flags.get('var') ?? []) {
    const [k, v = ''] = kv.split('=');
    vars[k!] = { values: v.split(',') };
  }
  await fetch(`${promUrl.replace(/\/$/, '')}/-/ready`).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? cause?.message ?? String(err);
    throw new Error(
      `Prometheus at ${promUrl} does not answer (${code}); start it or fix --prometheus`,
    );
  });
  const { html } = await renderPanels({
    promUrl: promUrl.replace(/\/$/, ''),
    fromMs: toMs - parseMs(one('last', '15m')!),
    toMs,
    scrapeIntervalMs: parseMs(one('scrape-interval', '5s')!),
    vars,
  });
  const htmlOut = one('html');
  if (htmlOut) fs.writeFileSync(htmlOut, html);
  const out = one('out', path.join('docs', 'img', 'dashboard-panels.png'))!;
  await screenshot(html, out);
  process.stdout.write(`wrote ${out}${htmlOut ? ` and ${htmlOut}` : ''}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
