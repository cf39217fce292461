/**
 * The instance's HTTP server: `/metrics` (Prometheus), `/healthz` (alive), `/readyz`
 * (every assigned task restored and running; 503 with the reason otherwise),
 * `/topology` (a live status page) and `/topology.json`, and the interactive queries of an
 * instance's stores under `/stores` (runtime/query/service.ts). Binds to 127.0.0.1 unless
 * told otherwise.
 */
import { answerHttp, answeringServer, isQueryPath, listen } from '../runtime/query/http.js';
import type { QueryService } from '../runtime/query/service.js';
import type { Metrics } from './metrics.js';
import { statusPage } from './status-page.js';

/** What the server reads from a running instance (read-only views). */
export interface InstanceView {
  applicationId: string;
  /** `null` when ready; otherwise why not. */
  notReadyReason(): string | null;
  /** The topology drawn as SVG (may be empty when unavailable). */
  topologySvg(): Promise<string>;
  status(): InstanceStatus;
  /** Interactive queries (`/stores…`), when the instance serves them. */
  queries?: Pick<QueryService, 'handle'>;
}

/** `/stores` of a process that serves no queries (one that runs no tasks: the ingest, the sink). */
const NO_QUERIES = {
  status: 501,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: {
      code: 'QUERIES_NOT_SERVED',
      message:
        'this process serves no interactive queries: it runs no stream tasks (ask an instance of the app: millrace run serves them under /stores)',
      retriable: false,
    },
  }),
};

export interface TaskStatus {
  id: string;
  state: string;
  partitions: Array<{ topic: string; partition: number; lag: number | null }>;
  processed: number;
  ratePerSecond: number;
  restored: number;
  restoreRemaining: number;
  /** Commits of this task since it was created here. */
  commits: number;
}

export interface InstanceStatus {
  applicationId: string;
  instanceId: string;
  state: string;
  guarantee: string;
  tasks: TaskStatus[];
  topology: unknown;
  updatedAt: string;
}

/**
 * The view of a process that runs no tasks (the ingest, the sink): a name, what it
 * guarantees, and why it is not ready (null when it is).
 */
export function processView(
  name: string,
  guarantee: string,
  notReady: () => string | null = () => null,
): InstanceView {
  return {
    applicationId: name,
    notReadyReason: notReady,
    topologySvg: async () => '',
    status: () => ({
      applicationId: name,
      instanceId: String(process.pid),
      state: notReady() === null ? 'running' : 'starting',
      guarantee,
      tasks: [],
      topology: null,
      updatedAt: new Date().toISOString(),
    }),
  };
}

export interface ServerOptions {
  port: number;
  /** Default 127.0.0.1; `0.0.0.0` exposes it (the `--expose` flag). */
  host?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(
  metrics: Metrics,
  view: InstanceView,
  opts: ServerOptions,
): Promise<RunningServer> {
  const server = answeringServer((req) => {
    const url = req.url ?? '/';
    if (isQueryPath(url))
      return view.queries ? answerHttp(view.queries, req) : Promise.resolve(NO_QUERIES);
    return route(url, metrics, view).then((r) => ({
      status: r.status,
      headers: { 'content-type': r.type },
      body: r.body,
    }));
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, opts.port, host);
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function route(
  url: string,
  metrics: Metrics,
  view: InstanceView,
): Promise<{ status: number; type: string; body: string }> {
  const path = url.split('?')[0];
  switch (path) {
    case '/metrics':
      return { status: 200, type: metrics.registry.contentType, body: await metrics.text() };
    case '/healthz':
      return { status: 200, type: 'text/plain', body: 'ok\n' };
    case '/readyz': {
      const reason = view.notReadyReason();
      return reason
        ? { status: 503, type: 'text/plain', body: `not ready: ${reason}\n` }
        : { status: 200, type: 'text/plain', body: 'ready\n' };
    }
    case '/topology.json':
      return {
        status: 200,
        type: 'application/json',
        body: JSON.stringify(view.status(), null, 2),
      };
    case '/topology':
    case '/':
      return {
        status: 200,
        type: 'text/html; charset=utf-8',
        body: statusPage(view.applicationId, await view.topologySvg()),
      };
    default:
      return {
        status: 404,
        type: 'text/plain',
        body: 'not found: try /metrics, /healthz, /readyz, /topology, /topology.json, /stores\n',
      };
  }
}
