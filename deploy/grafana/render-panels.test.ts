import { describe, expect, it } from 'vitest';
import { loadDashboard } from './dashboard.js';
import { dashboardHtml, formatValue, KNOWN_UNITS, niceTicks, panelSvg } from './render-panels.js';

const dash = loadDashboard();
const panel = dash.panels[0]!;
const range = { fromMs: 0, toMs: 60_000 };

describe('panel renderer', () => {
  it("formats values in the panels' units", () => {
    expect(formatValue(1500, 'ops')).toBe('1.5 K ops/s');
    expect(formatValue(0.25, 's')).toBe('250 ms');
    expect(formatValue(3 * 2 ** 20, 'bytes')).toBe('3 MiB');
    expect(formatValue(2_500_000, 'short')).toBe('2.5 Mil');
    expect(formatValue(0.5, 'percentunit')).toBe('50%');
  });

  it("knows every unit the dashboard's panels use", () => {
    for (const p of dash.panels)
      expect(KNOWN_UNITS, p.title).toContain(p.fieldConfig?.defaults?.unit);
  });

  it('picks round ticks that cover the data', () => {
    expect(niceTicks(0, 37)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0, 0.9)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(0, 40).at(-1)).toBe(40);
  });

  it('draws a line per series with its legend, and "No data" for none', () => {
    const series = [
      {
        labels: { task: '0_0' },
        name: 'app 0_0',
        points: [
          [0, 1],
          [30_000, 2],
          [60_000, 3],
        ],
      },
      {
        labels: { task: '0_1' },
        name: 'app 0_1',
        points: [
          [0, 2],
          [30_000, NaN],
          [60_000, 1],
        ],
      },
    ] as Array<{ labels: Record<string, string>; name: string; points: Array<[number, number]> }>;
    const svg = panelSvg(
      panel,
      [{ target: panel.targets[0]!, expr: 'x', series }],
      { width: 600, height: 300 },
      range,
    );
    expect(svg).toContain(panel.title.replace('/', '/'));
    expect(svg.match(/<path /g)?.length).toBe(1); // the second series is broken by NaN into two points
    expect(svg.match(/<circle /g)?.length).toBe(2);
    expect(svg).toContain('app 0_0');
    expect(svg).toContain('ops/s');
    const empty = panelSvg(
      panel,
      [{ target: panel.targets[0]!, expr: 'x', series: [] }],
      { width: 600, height: 300 },
      range,
    );
    expect(empty).toContain('No data');
  });

  it('lays panels out by gridPos on a page that says it is not Grafana', () => {
    const html = dashboardHtml(
      dash,
      dash.panels.map((p) => ({ panel: p, results: [] })),
      { ...range, width: 1200, note: 'not Grafana', vars: {} },
    );
    expect(html.match(/class="panel"/g)?.length).toBe(dash.panels.length);
    expect(html).toContain('not Grafana');
    const second = dash.panels.find((p) => p.gridPos.x === 12 && p.gridPos.y === 0)!;
    expect(html).toContain(
      `data-panel-id="${second.id}" style="left:${8 + (12 * (1200 - 8)) / 24}px;top:64px"`,
    );
  });
});
