/**
 * The worker side of a stream thread (see runtime/threads.ts): imported in each worker, it
 * imports the thread module, asks it for the thread's instance, starts it, and from then on
 * sends its task snapshots (every 200 ms when they changed), answers the supervisor's
 * requests with the module's handlers, stops it when told, and reports a failure.
 *
 * A thread module exports `startThread(ctx)`, returning the (not yet started) instance of
 * the thread and, optionally, handlers for requests:
 *
 * ```ts
 * export function startThread(ctx: ThreadContext): ThreadInstance {
 *   const app = new StreamsApp(buildTopology(), ctx.config);
 *   return { app, handlers: { metrics: () => registry.getMetricsAsJSON() } };
 * }
 * ```
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { AppState, StreamsApp } from './app.js';
import type { StreamsConfig } from './config.js';

/** What the supervisor gives each thread. */
export interface ThreadData {
  host: string;
  /** tsx's API module, when TypeScript is loaded from source. */
  tsx: string | null;
  module: string;
  args: unknown;
  /** The instance's config, with numStreamThreads 1: this thread runs one consumer. */
  config: StreamsConfig;
  /** This thread's index (0-based) and how many there are. */
  thread: number;
  threads: number;
  /** The supervising instance's id. */
  instanceId: string;
}

/** What a thread module's `startThread` receives. */
export interface ThreadContext {
  args: unknown;
  config: StreamsConfig;
  thread: number;
  threads: number;
  instanceId: string;
}

/** What a thread module's `startThread` returns. */
export interface ThreadInstance {
  app: StreamsApp;
  /** Answers to the supervisor's `request(kind)` (structured-cloneable results). */
  handlers?: Record<string, () => unknown>;
}

/** A task as a thread reports it. */
export interface TaskSnapshot {
  id: string;
  partition: number;
  state: string;
  hasUncommitted: boolean;
  stats: {
    processed: number;
    commits: number;
    lastCommitMs: number;
    restored: number;
    restoreRemaining: number;
    produced: Array<[string, number]>;
  };
}

export type MainToThread = { type: 'stop' } | { type: 'request'; id: number; kind: string };

export type ThreadToMain =
  | { type: 'started' }
  | { type: 'tasks'; tasks: TaskSnapshot[]; state: AppState; notReady: string | null }
  | { type: 'response'; id: number; value?: unknown; error?: string }
  | { type: 'stopped' }
  | { type: 'failed'; error: { message: string; code?: string } };

const SNAPSHOT_EVERY_MS = 200;

function snapshot(app: StreamsApp): TaskSnapshot[] {
  return [...app.tasks.values()].map((t) => ({
    id: t.id,
    partition: t.partition,
    state: t.state,
    hasUncommitted: t.hasUncommitted,
    stats: {
      processed: t.stats.processed,
      commits: t.stats.commits,
      lastCommitMs: t.stats.lastCommitMs,
      restored: t.stats.restored,
      restoreRemaining: t.stats.restoreRemaining,
      produced: [...t.stats.produced],
    },
  }));
}

async function host(port: NonNullable<typeof parentPort>, data: ThreadData): Promise<void> {
  const say = (m: ThreadToMain) => port.postMessage(m);
  const failed = (err: unknown) =>
    say({
      type: 'failed',
      error: {
        message: err instanceof Error ? err.message : String(err),
        ...((err as { code?: unknown })?.code
          ? { code: String((err as { code: unknown }).code) }
          : {}),
      },
    });
  const mod = (await import(data.module)) as {
    startThread?: (ctx: ThreadContext) => ThreadInstance | Promise<ThreadInstance>;
  };
  if (typeof mod.startThread !== 'function')
    throw new Error(`${data.module} does not export startThread(ctx); see runtime/thread-host.ts`);
  const { app, handlers = {} } = await mod.startThread({
    args: data.args,
    config: data.config,
    thread: data.thread,
    threads: data.threads,
    instanceId: data.instanceId,
  });
  let stopping = false;
  app.onFailure((err) => {
    if (!stopping) failed(err);
  });
  let last = '';
  const report = () => {
    const tasks = snapshot(app);
    const msg: ThreadToMain = {
      type: 'tasks',
      tasks,
      state: app.state,
      notReady: app.notReadyReason(),
    };
    const key = JSON.stringify(msg);
    if (key === last) return;
    last = key;
    say(msg);
  };
  const timer = setInterval(report, SNAPSHOT_EVERY_MS);
  port.on('message', (m: MainToThread) => {
    if (m.type === 'stop') {
      if (stopping) return;
      stopping = true;
      void app
        .close()
        .catch(() => {})
        .then(() => {
          clearInterval(timer);
          report();
          say({ type: 'stopped' });
          port.close();
        });
      return;
    }
    const handler = handlers[m.kind];
    if (!handler) {
      say({ type: 'response', id: m.id, error: `no handler for "${m.kind}"` });
      return;
    }
    Promise.resolve()
      .then(handler)
      .then(
        (value) => say({ type: 'response', id: m.id, value }),
        (err: unknown) => say({ type: 'response', id: m.id, error: String(err) }),
      );
  });
  try {
    await app.start();
  } catch (err) {
    clearInterval(timer);
    failed(err);
    port.close();
    return;
  }
  report();
  say({ type: 'started' });
}

if (!isMainThread && parentPort && (workerData as ThreadData | undefined)?.host) {
  const port = parentPort;
  host(port, workerData as ThreadData).catch((err: unknown) => {
    port.postMessage({
      type: 'failed',
      error: { message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    } satisfies ThreadToMain);
    port.close();
  });
}
