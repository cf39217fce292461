/**
 * A stream thread of `millrace run --num-stream-threads N` (runtime/threads.ts): builds the
 * instance of the target in this thread, with metrics of its own (labelled `thread`), and
 * answers the main thread's scrapes with them (merged there into the one /metrics) and its
 * status requests with its tasks. It serves its stores' interactive queries on a port of
 * its own, advertised to the group (the thread is a member with tasks of its own); the
 * instance's `/stores` relays to thread 0's (`queryUrl`), which forwards what it does not
 * hold to the member that does.
 */
import { Metrics } from '../observability/metrics.js';
import { viewFor } from '../observability/view.js';
import { advertisedEndpoint, serveQueries } from '../runtime/query/http.js';
import type { ThreadContext, ThreadInstance } from '../runtime/thread-host.js';
import { instanceFor } from './instance.js';

export interface RunThreadArgs {
  target: string;
  registry: string;
  /** Where the instance's server is bound: each thread's query server binds there too. */
  queryHost: string;
}

/**
 * What a thread advertises: `applicationServer`'s host (the instance's address as other
 * instances reach it) with this thread's port, else the bound host and port.
 */
export function threadEndpoint(applicationServer: string | undefined, host: string, port: number) {
  if (!applicationServer) return advertisedEndpoint(host, port);
  return `${applicationServer.replace(/:\d+$/, '')}:${port}`;
}

export async function startThread(ctx: ThreadContext): Promise<ThreadInstance> {
  const { target, registry, queryHost } = ctx.args as RunThreadArgs;
  // Process-wide metrics (CPU, memory) are the main thread's.
  const metrics = new Metrics({
    defaultLabels: { thread: String(ctx.thread) },
    processMetrics: false,
  });
  const { app, topology } = await instanceFor(target, registry, ctx.config, metrics);
  const view = viewFor(app, topology, metrics);
  const queries = await serveQueries(app, {
    host: queryHost,
    port: 0,
    endpoint: (port) => threadEndpoint(ctx.config.applicationServer, queryHost, port),
  });
  return {
    app,
    handlers: {
      metrics: () => metrics.json(),
      status: () => view.status(),
      queryUrl: () => queries.url,
    },
    close: () => queries.close(),
  };
}
