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
  /** Called once the instance has closed (e.g. to close a server the module started). */
  close?: () => Promise<void>;
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

function failureMessage(err: unknown): ThreadToMain {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    type: 'failed',
    error: {
      message: err instanceof Error ? err.message : String(err),
      ...(code ? { code: String(code) } : {}),
    },
  };
}

async function loadInstance(data: ThreadData): Promise<ThreadInstance> {
  const mod = (await import(data.module)) as {
    startThread?: (ctx: ThreadContext) => ThreadInstance | Promise<ThreadInstance>;
  };
  if (typeof mod.startThread !== 'function')
    throw new Error(`${data.module} does not export startThread(ctx); see runtime/thread-host.ts`);
  return mod.startThread({
    args: data.args,
    config: data.config,
    thread: data.thread,
    threads: data.threads,
    instanceId: data.instanceId,
  });
}

/** A thread's instance, as the supervisor sees it through the port. */
class HostedThread {
  private stopping = false;
  private last = '';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly port: NonNullable<typeof parentPort>,
    private readonly app: StreamsApp,
    private readonly handlers: Record<string, () => unknown>,
    private readonly closeModule: () => Promise<void> = async () => {},
  ) {
    app.onFailure((err) => {
      if (!this.stopping) this.say(failureMessage(err));
    });
    this.timer = setInterval(() => this.report(), SNAPSHOT_EVERY_MS);
    port.on('message', (m: MainToThread) => {
      if (m.type === 'stop') this.stop();
      else this.answer(m.id, m.kind);
    });
  }

  say(m: ThreadToMain): void {
    this.port.postMessage(m);
  }

  /** Sends the tasks' snapshot when it changed since the last one sent. */
  report(): void {
    const msg: ThreadToMain = {
      type: 'tasks',
      tasks: snapshot(this.app),
      state: this.app.state,
      notReady: this.app.notReadyReason(),
    };
    const key = JSON.stringify(msg);
    if (key === this.last) return;
    this.last = key;
    this.say(msg);
  }

  async start(): Promise<void> {
    try {
      await this.app.start();
    } catch (err) {
      clearInterval(this.timer);
      await this.closeModule().catch(() => {});
      this.say(failureMessage(err));
      this.port.close();
      return;
    }
    this.report();
    this.say({ type: 'started' });
  }

  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    void this.app
      .close()
      .catch(() => {})
      .then(() => this.closeModule().catch(() => {}))
      .then(() => {
        clearInterval(this.timer);
        this.report();
        this.say({ type: 'stopped' });
        this.port.close();
      });
  }

  private answer(id: number, kind: string): void {
    const handler = this.handlers[kind];
    if (!handler) {
      this.say({ type: 'response', id, error: `no handler for "${kind}"` });
      return;
    }
    Promise.resolve()
      .then(handler)
      .then(
        (value) => this.say({ type: 'response', id, value }),
        (err: unknown) => this.say({ type: 'response', id, error: String(err) }),
      );
  }
}

async function host(port: NonNullable<typeof parentPort>, data: ThreadData): Promise<void> {
  const { app, handlers = {}, close } = await loadInstance(data);
  await new HostedThread(port, app, handlers, close).start();
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
