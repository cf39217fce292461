/**
 * A stream thread of `millrace run --num-stream-threads N` (runtime/threads.ts): builds the
 * instance of the target in this thread, with metrics of its own (labelled `thread`), and
 * answers the main thread's scrapes with them (merged there into the one /metrics) and its
 * status requests with its tasks.
 */
import { Metrics } from '../observability/metrics.js';
import { viewFor } from '../observability/view.js';
import type { ThreadContext, ThreadInstance } from '../runtime/thread-host.js';
import { instanceFor } from './instance.js';

export interface RunThreadArgs {
  target: string;
  registry: string;
}

export async function startThread(ctx: ThreadContext): Promise<ThreadInstance> {
  const { target, registry } = ctx.args as RunThreadArgs;
  // Process-wide metrics (CPU, memory) are the main thread's.
  const metrics = new Metrics({
    defaultLabels: { thread: String(ctx.thread) },
    processMetrics: false,
  });
  const { app, topology } = await instanceFor(target, registry, ctx.config, metrics);
  const view = viewFor(app, topology, metrics);
  return {
    app,
    handlers: {
      metrics: () => metrics.json(),
      status: () => view.status(),
    },
  };
}
