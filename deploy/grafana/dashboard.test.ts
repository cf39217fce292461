import { describe, expect, it } from 'vitest';
import {
  formatVariable,
  interpolate,
  intervalMs,
  legendName,
  loadDashboard,
  promDuration,
  rangeParams,
  rateIntervalMs,
  roundInterval,
  type Dashboard,
  type QueryContext,
} from './dashboard.js';

const dash = loadDashboard();
const ctx = (o: Partial<QueryContext> = {}): QueryContext => ({
  fromMs: Date.UTC(2026, 0, 5, 14, 0),
  toMs: Date.UTC(2026, 0, 5, 14, 30),
  maxDataPoints: 900,
  scrapeIntervalMs: 5000,
  vars: {},
  ...o,
});

describe("Grafana's intervals", () => {
  it('rounds to nice intervals', () => {
    expect(roundInterval(1900)).toBe(2000);
    expect(roundInterval(2000)).toBe(2000);
    expect(roundInterval(4000)).toBe(5000);
    expect(roundInterval(70_000)).toBe(60_000);
    expect(roundInterval(3)).toBe(10);
  });

  it('gives $__interval from range / max data points, never below the scrape interval', () => {
    // 30 min over 900 points = 2 s, below the 5 s scrape interval.
    expect(intervalMs(ctx())).toBe(5000);
    // 24 h over 900 points = 96 s → 2 min.
    expect(intervalMs(ctx({ fromMs: 0, toMs: 86_400_000 }))).toBe(120_000);
  });

  it('gives $__rate_interval = max($__interval + scrape, 4 × scrape)', () => {
    expect(rateIntervalMs(ctx())).toBe(20_000);
    expect(rateIntervalMs(ctx({ fromMs: 0, toMs: 86_400_000 }))).toBe(125_000);
    expect(rateIntervalMs(ctx({ scrapeIntervalMs: 1000 }))).toBe(4000);
  });

  it('writes durations as PromQL does', () => {
    expect(promDuration(20_000)).toBe('20s');
    expect(promDuration(125_000)).toBe('2m5s');
    expect(promDuration(3_600_000)).toBe('1h');
    expect(promDuration(200)).toBe('200ms');
  });

  it('aligns query_range to the step', () => {
    const r = rangeParams(ctx({ fromMs: 1_000_002_500, toMs: 1_000_062_500 }));
    expect(r.step).toBe(5);
    expect(r.start % 5).toBe(0);
    expect(r.end % 5).toBe(0);
    expect(r.start).toBeLessThanOrEqual(1_000_002.5);
    expect(r.end).toBeGreaterThanOrEqual(1_000_062.5);
  });
});

describe('template variables, as Grafana formats them for Prometheus', () => {
  const multi = { name: 'instance', type: 'query', multi: true, includeAll: true, allValue: '.*' };

  it('escapes regex characters of chosen values and joins several with |', () => {
    expect(formatVariable(multi, { values: ['127.0.0.1:9464'] })).toBe(
      '127\\\\.0\\\\.0\\\\.1:9464',
    );
    expect(formatVariable(multi, { values: ['a.b', 'c'] })).toBe('(a\\\\.b|c)');
  });

  it('uses the custom all value for All, or every option without one', () => {
    expect(formatVariable(multi, { all: true, options: ['x', 'y'] })).toBe('.*');
    expect(formatVariable({ ...multi, allValue: null }, { all: true, options: ['x', 'y'] })).toBe(
      '(x|y)',
    );
  });

  it('substitutes built-ins and variables in every syntax', () => {
    const d: Dashboard = { ...dash, templating: { list: [multi] } };
    const c = ctx({ vars: { instance: { values: ['h:1'] } } });
    expect(
      interpolate(
        'rate(x{instance=~"$instance"}[$__rate_interval]) + ${instance} [[instance]]',
        d,
        c,
      ),
    ).toBe('rate(x{instance=~"h:1"}[20s]) + h:1 h:1');
    expect(interpolate('$__range $__range_s $unknown', d, c)).toBe('30m 1800 $unknown');
  });

  it('names series from legendFormat, or from their labels', () => {
    const t = { refId: 'A', expr: 'x', legendFormat: '{{topic}} [{{partition}}]' };
    expect(legendName(t, { topic: 't', partition: '3' }, 'x')).toBe('t [3]');
    expect(legendName({ refId: 'A', expr: 'x' }, { a: '1' }, 'x')).toBe('{a="1"}');
    expect(legendName({ refId: 'A', expr: 'x' }, {}, 'sum(x)')).toBe('sum(x)');
  });
});

describe('the dashboard', () => {
  const targets = dash.panels.flatMap((p) => p.targets.map((t) => ({ panel: p, t })));

  it('uses only variables it defines (and Grafana built-ins)', () => {
    const defined = new Set(dash.templating.list.map((v) => v.name));
    for (const { panel, t } of targets)
      for (const m of t.expr.matchAll(/\$\{?(\w+)/g))
        expect(m[1]!.startsWith('__') || defined.has(m[1]!), `${panel.title}: $${m[1]}`).toBe(true);
  });

  it('filters every query by $instance, and those of metrics labelled by app by $app', () => {
    for (const { panel, t } of targets) {
      expect(t.expr, panel.title).toContain('instance=~"$instance"');
      if (!/millrace_(sink|e2e|ingest|node)_/.test(t.expr))
        expect(t.expr, panel.title).toContain('app=~"$app"');
    }
  });

  it('names every series: a legend per target, one metric per target (no `or` of two metrics)', () => {
    for (const { panel, t } of targets) {
      expect(t.legendFormat, `${panel.title} ${t.refId}`).toMatch(/\S/);
      expect(t.legendFormat).not.toBe('__auto');
      expect(t.expr, panel.title).not.toMatch(/\bor\b/);
    }
    for (const p of dash.panels)
      expect(new Set(p.targets.map((t) => t.refId)).size, p.title).toBe(p.targets.length);
  });

  it("has panels that tile Grafana's 24 columns without overlap", () => {
    const cells = new Set<string>();
    for (const p of dash.panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });
});
