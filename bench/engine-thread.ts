/**
 * A stream thread of bench/engine-worker.ts when it runs several (THREADS > 1): the bench
 * topology built in this thread (see runtime/threads.ts).
 */
import { StreamsApp } from '../runtime/app.js';
import type { ThreadContext, ThreadInstance } from '../runtime/thread-host.js';
import { benchTopology, type BenchKind } from './lib/topologies.js';

export interface EngineThreadArgs {
  kind: BenchKind;
  input: string;
  output: string;
}

export function startThread(ctx: ThreadContext): ThreadInstance {
  const { kind, input, output } = ctx.args as EngineThreadArgs;
  return { app: new StreamsApp(benchTopology(kind, input, output), ctx.config) };
}
