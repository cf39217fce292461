import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, METRICS, metricsTableMarkdown } from './metrics.js';
import { startServer, type InstanceView, type RunningServer } from './server.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function view(ready: string | null): InstanceView {
  return {
    applicationId: 'app-1',
    notReadyReason: () => ready,
    topologySvg: async () => '<svg xmlns="http://www.w3.org/2000/svg"><text>source</text></svg>',
    status: () => ({
      applicationId: 'app-1',
      instanceId: 'i-1',
      state: 'running',
      guarantee: 'exactly_once',
      tasks: [],
      topology: {},
      updatedAt: new Date(0).toISOString(),
    }),
  };
}

describe('observability server', () => {
  it('serves metrics with unit-suffixed millrace_* names and Node process metrics', async () => {
    const metrics = new Metrics({ defaultLabels: { instance: 'i-1' } });
    metrics.counter('millrace_records_processed_total').inc({ app: 'app-1', task: '0_1' }, 3);
    server = await startServer(metrics, view(null), { port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain(
      'millrace_records_processed_total{app="app-1",task="0_1",instance="i-1"} 3',
    );
    expect(text).toContain('millrace_node_process_cpu_seconds_total');
    for (const m of METRICS) {
      expect(m.name).toMatch(/^millrace_[a-z0-9_]+$/);
      if (m.kind === 'counter') expect(m.name).toMatch(/_total$/);
    }
  });

  it('answers /healthz always and /readyz with 503 and the reason until ready', async () => {
    server = await startServer(
      new Metrics({ processMetrics: false }),
      view('task 0_3 restoring (1200 records left)'),
      { port: 0 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('task 0_3 restoring');
    await server.close();
    server = await startServer(new Metrics({ processMetrics: false }), view(null), { port: 0 });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('hands /stores… to the instance’s queries; without them (a process of no tasks) answers 501 saying why', async () => {
    const asked: string[] = [];
    const withQueries: InstanceView = {
      ...view(null),
      queries: {
        handle: async (req) => {
          asked.push(`${req.path}?${req.query.toString()} forwarded=${req.forwarded}`);
          return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":1}' };
        },
      },
    };
    server = await startServer(new Metrics({ processMetrics: false }), withQueries, { port: 0 });
    const r = await fetch(`${server.url}/stores/counts/get?key=a`, {
      headers: { 'x-millrace-forwarded': '1' },
    });
    expect([r.status, await r.text()]).toEqual([200, '{"ok":1}']);
    expect(asked).toEqual(['/stores/counts/get?key=a forwarded=true']);
    expect((await fetch(`${server.url}/stores`, { method: 'POST' })).status).toBe(405);
    await server.close();
    server = await startServer(new Metrics({ processMetrics: false }), view(null), { port: 0 });
    const none = await fetch(`${server.url}/stores/counts/get?key=a`);
    expect(none.status).toBe(501);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe(
      'QUERIES_NOT_SERVED',
    );
  });

  it('serves the status page with the SVG and the JSON status', async () => {
    server = await startServer(new Metrics({ processMetrics: false }), view(null), { port: 0 });
    const html = await (await fetch(`${server.url}/topology`)).text();
    expect(html).toContain('<svg');
    expect(html).toContain('app-1');
    const json = (await (await fetch(`${server.url}/topology.json`)).json()) as {
      guarantee: string;
    };
    expect(json.guarantee).toBe('exactly_once');
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });

  it('generates the metrics table from the catalogue', () => {
    const table = metricsTableMarkdown();
    expect(table.split('\n').length).toBe(METRICS.length + 2);
    expect(table).toContain('`millrace_commit_duration_seconds` | histogram');
  });
});
