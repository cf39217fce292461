/**
 * millrace's Grafana dashboard (deploy/grafana/dashboards/millrace.json) read outside
 * Grafana: its panels and targets, the template variables substituted the way Grafana's
 * Prometheus data source does, and each target run through Prometheus's HTTP API
 * (`/api/v1/query_range`). Used by the dashboard's integration test and by the panel
 * renderer (render-panels.ts); Grafana itself is not needed.
 *
 * @example
 *   const dash = loadDashboard();
 *   const ctx = { fromMs: Date.now() - 15 * 60_000, toMs: Date.now(), maxDataPoints: 600,
 *                 scrapeIntervalMs: 5_000, vars: await variableOptions(url, dash) };
 *   for (const p of dash.panels) console.log(p.title, await runPanel(url, dash, p, ctx));
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'dashboards',
  'millrace.json',
);

export interface Target {
  refId: string;
  expr: string;
  /** `{{label}}` placeholders, or `__auto` / absent: the series' labels. */
  legendFormat?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number } };
  targets: Target[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  /** For `query` variables: `label_values(<metric or selector>, <label>)`. */
  query?: string | { query: string };
  multi?: boolean;
  includeAll?: boolean;
  /** What "All" becomes in a query (Grafana's custom all value); absent: every option. */
  allValue?: string | null;
}

export interface Dashboard {
  title: string;
  uid: string;
  templating: { list: TemplateVariable[] };
  panels: Panel[];
}

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Dashboard;
}

/** What a variable is set to: "All" (with the options it stands for) or chosen values. */
export type Selection = { all: true; options: string[] } | { all?: false; values: string[] };

export interface QueryContext {
  fromMs: number;
  toMs: number;
  /** Grafana's max data points: the panel's width in pixels unless set. */
  maxDataPoints: number;
  /** The data source's scrape interval (Grafana's `timeInterval` setting; 15 s if unset), ms. */
  scrapeIntervalMs: number;
  /** By variable name; the `datasource` variable needs none. */
  vars: Record<string, Selection>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The "nice" intervals Grafana rounds a computed interval to. */
const NICE = [
  10,
  20,
  50,
  100,
  200,
  500,
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  20 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  20 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  7 * DAY,
];

/** `ms` rounded to the nearest nice interval (in the middle between two, the smaller). */
export function roundInterval(ms: number): number {
  for (let i = 0; i < NICE.length - 1; i++)
    if (ms <= (NICE[i]! + NICE[i + 1]!) / 2) return NICE[i]!;
  return NICE.at(-1)!;
}

/** Grafana's `$__interval`: range / max data points, rounded, never below the scrape interval. */
export function intervalMs(ctx: QueryContext): number {
  const raw = (ctx.toMs - ctx.fromMs) / Math.max(1, ctx.maxDataPoints);
  return Math.max(roundInterval(raw), ctx.scrapeIntervalMs);
}

/** Grafana's `$__rate_interval`: max($__interval + scrape interval, 4 × scrape interval). */
export function rateIntervalMs(ctx: QueryContext): number {
  return Math.max(intervalMs(ctx) + ctx.scrapeIntervalMs, 4 * ctx.scrapeIntervalMs);
}

/** A duration as PromQL writes it: `1m`, `20s`, `1m30s`, `500ms`. */
export function promDuration(ms: number): string {
  if (ms % SECOND !== 0) return `${Math.round(ms)}ms`;
  const units: Array<[string, number]> = [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ];
  let left = ms;
  let out = '';
  for (const [u, size] of units) {
    const n = Math.floor(left / size);
    if (n > 0) out += `${n}${u}`;
    left -= n * size;
  }
  return out || '0s';
}

/** A value made a literal inside a PromQL regex matcher (`=~"…"`), as Grafana escapes it. */
export function regexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/** What `$name` becomes in a query: Grafana's formatting for a Prometheus data source. */
export function formatVariable(v: TemplateVariable, s: Selection): string {
  if (!v.multi && !v.includeAll) {
    const one = s.all ? (s.options[0] ?? '') : (s.values[0] ?? '');
    return one.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  }
  if (s.all && v.allValue != null && v.allValue !== '') return v.allValue;
  const values = (s.all ? s.options : s.values).map(regexEscape);
  return values.length === 1 ? values[0]! : `(${values.join('|')})`;
}

/**
 * `expr` with Grafana's built-in variables ($__interval, $__rate_interval, $__range and
 * their _ms/_s forms) and the dashboard's variables substituted. Accepts `$name`,
 * `${name}` and `[[name]]`. A variable with no selection in `ctx` is left as written.
 */
export function interpolate(expr: string, dash: Dashboard, ctx: QueryContext): string {
  const interval = intervalMs(ctx);
  const range = ctx.toMs - ctx.fromMs;
  const builtins: Record<string, string> = {
    __interval: promDuration(interval),
    __interval_ms: String(interval),
    __rate_interval: promDuration(rateIntervalMs(ctx)),
    __rate_interval_ms: String(rateIntervalMs(ctx)),
    __range: promDuration(Math.round(range / SECOND) * SECOND),
    __range_ms: String(range),
    __range_s: String(Math.round(range / SECOND)),
  };
  const defs = new Map(dash.templating.list.map((v) => [v.name, v]));
  const value = (name: string, whole: string) => {
    if (name in builtins) return builtins[name]!;
    const def = defs.get(name);
    const sel = ctx.vars[name];
    return def && sel ? formatVariable(def, sel) : whole;
  };
  return expr.replace(
    /\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (whole, a?: string, b?: string, c?: string) => value((a ?? b ?? c)!, whole),
  );
}

/** The step and aligned range Grafana asks `query_range` for (seconds). */
export function rangeParams(ctx: QueryContext): { start: number; end: number; step: number } {
  const span = (ctx.toMs - ctx.fromMs) / SECOND;
  // Prometheus refuses more than 11,000 points per series.
  const step = Math.max(intervalMs(ctx) / SECOND, Math.ceil(span / 11_000));
  return {
    start: Math.floor(ctx.fromMs / SECOND / step) * step,
    end: Math.ceil(ctx.toMs / SECOND / step) * step,
    step,
  };
}

export interface Series {
  labels: Record<string, string>;
  /** [epoch ms, value]; NaN where Prometheus says NaN. */
  points: Array<[number, number]>;
}

/** A query Prometheus rejected (bad PromQL, unknown function …), with its error type. */
export class PromQueryError extends Error {
  constructor(
    readonly expr: string,
    readonly errorType: string,
    readonly detail: string,
  ) {
    super(`Prometheus rejected ${JSON.stringify(expr)}: ${errorType}: ${detail}`);
    this.name = 'PromQueryError';
  }
}

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: {
    resultType: string;
    result: Array<{
      metric: Record<string, string>;
      values?: Array<[number, string]>;
      value?: [number, string];
    }>;
  };
}

async function promGet(url: string, expr: string): Promise<NonNullable<PromResponse['data']>> {
  const res = await fetch(url);
  const body = (await res.json()) as PromResponse;
  if (body.status !== 'success' || !body.data)
    throw new PromQueryError(expr, body.errorType ?? `HTTP ${res.status}`, body.error ?? '');
  return body.data;
}

/** `/api/v1/query_range`: every series `expr` gives over [start, end] at `step` (seconds). */
export async function queryRange(
  promUrl: string,
  expr: string,
  p: { start: number; end: number; step: number },
): Promise<Series[]> {
  const q = new URLSearchParams({
    query: expr,
    start: String(p.start),
    end: String(p.end),
    step: String(p.step),
  });
  const data = await promGet(`${promUrl}/api/v1/query_range?${q}`, expr);
  return data.result.map((r) => ({
    labels: r.metric,
    points: (r.values ?? []).map(([t, v]) => [t * SECOND, Number(v)] as [number, number]),
  }));
}

/** `/api/v1/query`: the series `expr` gives at `time` (epoch s; now if absent). */
export async function queryInstant(
  promUrl: string,
  expr: string,
  time?: number,
): Promise<Series[]> {
  const q = new URLSearchParams({
    query: expr,
    ...(time === undefined ? {} : { time: String(time) }),
  });
  const data = await promGet(`${promUrl}/api/v1/query?${q}`, expr);
  if (data.resultType !== 'vector') return [];
  return data.result.map((r) => ({
    labels: r.metric,
    points: r.value ? [[r.value[0] * SECOND, Number(r.value[1])]] : [],
  }));
}

/**
 * Every query variable's options, as Grafana lists them (`label_values(selector, label)`
 * through `/api/v1/label/<label>/values`), each selected as "All".
 */
export async function variableOptions(
  promUrl: string,
  dash: Dashboard,
): Promise<Record<string, Selection>> {
  const out: Record<string, Selection> = {};
  for (const v of dash.templating.list) {
    if (v.type !== 'query') continue;
    const text = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(text.trim());
    if (!m)
      throw new Error(`variable ${v.name}: query ${text} is not label_values(selector, label)`);
    const q = new URLSearchParams({ 'match[]': m[1]! });
    const res = await fetch(`${promUrl}/api/v1/label/${m[2]}/values?${q}`);
    const body = (await res.json()) as { status: string; data?: string[]; error?: string };
    if (body.status !== 'success') throw new Error(`variable ${v.name}: ${body.error}`);
    out[v.name] = { all: true, options: (body.data ?? []).sort() };
  }
  return out;
}

/** A series' name in the legend: `legendFormat` filled in, or its labels (Grafana's `__auto`). */
export function legendName(t: Target, labels: Record<string, string>, expr: string): string {
  const f = t.legendFormat;
  if (f && f !== '__auto')
    return f.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l: string) => labels[l] ?? '');
  const { __name__: name, ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}="${v}"`);
  if (!pairs.length) return name ?? expr;
  return `${name ?? ''}{${pairs.join(', ')}}`;
}

export interface TargetResult {
  target: Target;
  /** The query as sent, variables substituted. */
  expr: string;
  series: Array<Series & { name: string }>;
}

/** Runs every target of `panel` over the context's range, as Grafana would. */
export async function runPanel(
  promUrl: string,
  dash: Dashboard,
  panel: Panel,
  ctx: QueryContext,
): Promise<TargetResult[]> {
  const range = rangeParams(ctx);
  return Promise.all(
    panel.targets.map(async (target) => {
      const expr = interpolate(target.expr, dash, ctx);
      const series = await queryRange(promUrl, expr, range);
      return {
        target,
        expr,
        series: series.map((s) => ({ ...s, name: legendName(target, s.labels, expr) })),
      };
    }),
  );
}
