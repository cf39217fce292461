/**
 * Several stream threads in one instance (Kafka Streams' `num.stream.threads`), each on a
 * core of its own: every thread is a worker thread running a single-threaded instance
 * (`StreamsApp`) with its own consumer in the group, its own producer and transactional id
 * (its own slot of the state directory), its own tasks, stores and metrics. The tasks'
 * directories are the instance's, shared: a task that moves from one thread to another
 * opens its stores where the other closed them (their locks keep the two apart meanwhile).
 *
 * JavaScript runs one thread per isolate, so threads that share nothing but the process are
 * what puts a second core to work: a record is processed where it was fetched, as in Kafka
 * Streams, and nothing but task snapshots, metrics on scrape and stop/failure crosses
 * between threads.
 *
 * What a thread runs is a module (`ThreadModule`): it is imported in each worker and builds
 * the topology there (functions cannot be sent to a worker), starts its instance with
 * `hostThread` (runtime/thread-host.ts), and may answer requests (the CLI's answers its
 * metrics registry). `millrace run --num-stream-threads N` uses cli/thread-worker.ts.
 *
 * ```ts
 * const threads = new StreamThreads(
 *   { module: new URL('./my-thread.ts', import.meta.url).href, args: { … } },
 *   { applicationId: 'counts', bootstrapServers: 'localhost:9092', numStreamThreads: 2 },
 * );
 * await threads.start();
 * ```
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  configFromEnv,
  resolveConfig,
  type StreamsConfig,
  type StreamsConfigInput,
} from './config.js';
import { StreamsError } from './errors.js';
import type { AppState } from './app.js';
import type { TaskSnapshot, ThreadToMain, MainToThread, ThreadData } from './thread-host.js';

/** The module a stream thread runs (see the file comment), and its argument. */
export interface ThreadModule {
  /** A file URL or path; a `.ts` module is loaded through tsx. */
  module: string;
  /** Given to the module in each thread (structured-cloneable: no functions). */
  args?: unknown;
}

/** A task as the supervisor sees it: a snapshot its thread sent (at most 200 ms old). */
export interface TaskView extends TaskSnapshot {
  /** The thread (0-based) that runs it. */
  thread: number;
}

interface ThreadHandle {
  index: number;
  worker: Worker;
  state: AppState;
  tasks: TaskSnapshot[];
  notReady: string | null;
  started: Promise<void>;
  exited: Promise<void>;
  stopped: boolean;
}

/** A thread's handle with the settling of its start. */
interface StartingThread extends ThreadHandle {
  resolveStarted(): void;
  rejectStarted(err: unknown): void;
}

function newHandle(index: number, worker: Worker): StartingThread {
  let resolveStarted!: () => void;
  let rejectStarted!: (e: unknown) => void;
  const started = new Promise<void>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  started.catch(() => {});
  return {
    index,
    worker,
    state: 'starting',
    tasks: [],
    notReady: 'joining the group',
    started,
    exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())),
    stopped: false,
    resolveStarted,
    rejectStarted,
  };
}

/**
 * Loads the host module in a worker, with tsx's loader registered first when TypeScript
 * runs from source (the built package needs nothing).
 */
const BOOTSTRAP = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.host);
})().catch((err) => {
  parentPort.postMessage({ type: 'failed', error: { message: String((err && err.stack) || err) } });
});
`;

export class StreamThreads {
  readonly config: Readonly<StreamsConfig>;
  readonly instanceId = randomUUID().slice(0, 8);
  private readonly threads: ThreadHandle[] = [];
  private stateValue: AppState = 'created';
  private failure?: unknown;
  private readonly failureListeners: Array<(err: unknown) => void> = [];
  private nextRequest = 0;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();

  constructor(
    private readonly threadModule: ThreadModule,
    config: StreamsConfigInput,
  ) {
    this.config = resolveConfig(configFromEnv(), config);
  }

  get state(): AppState {
    if (this.stateValue !== 'running') return this.stateValue;
    return this.threads.some((t) => t.state === 'rebalancing') ? 'rebalancing' : 'running';
  }

  /** Every thread's tasks, from their latest snapshots. */
  get tasks(): ReadonlyMap<string, TaskView> {
    const out = new Map<string, TaskView>();
    for (const t of this.threads) for (const s of t.tasks) out.set(s.id, { ...s, thread: t.index });
    return out;
  }

  onFailure(listener: (err: unknown) => void): void {
    this.failureListeners.push(listener);
  }

  get lastFailure(): unknown {
    return this.failure;
  }

  /** Starts every thread; resolves when each has joined the group (rejects if one failed). */
  async start(): Promise<void> {
    this.stateValue = 'starting';
    const n = this.config.numStreamThreads;
    for (let i = 0; i < n; i++) this.threads.push(this.spawn(i));
    try {
      await Promise.all(this.threads.map((t) => t.started));
    } catch (err) {
      await this.stopThreads();
      this.stateValue = 'failed';
      throw err;
    }
    this.stateValue = 'running';
  }

  private spawn(index: number): ThreadHandle {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: this.threadData(index),
      // The process's flags but tsx's (it is registered in the worker when needed: a
      // worker given --import tsx did not load TypeScript on Node 20); its stdout and
      // stderr are the process's.
      execArgv: withoutTsx(process.execArgv),
    });
    const h = newHandle(index, worker);
    worker.on('message', (m: ThreadToMain) => this.onMessage(h, m));
    worker.on('error', (err) => this.onThreadFailure(h, err));
    worker.on('exit', (code) => {
      if (h.stopped || this.stateValue === 'stopping' || this.stateValue === 'stopped') return;
      const err = new StreamsError(`stream thread ${index} exited (${code}) without stopping`, {
        code: 'STREAM_THREAD_EXITED',
        domain: 'internal',
      });
      this.onThreadFailure(h, err);
    });
    return h;
  }

  private threadData(index: number): ThreadData {
    return {
      host: hostModuleUrl(),
      tsx:
        isTypeScript(this.threadModule.module) || isTypeScript(import.meta.url) ? tsxUrl() : null,
      module: toUrl(this.threadModule.module),
      args: this.threadModule.args ?? null,
      config: { ...this.config, numStreamThreads: 1 },
      thread: index,
      threads: this.config.numStreamThreads,
      instanceId: this.instanceId,
    };
  }

  private onMessage(h: StartingThread, m: ThreadToMain): void {
    switch (m.type) {
      case 'started':
        h.state = 'running';
        h.resolveStarted();
        break;
      case 'tasks':
        h.tasks = m.tasks;
        h.state = m.state;
        h.notReady = m.notReady;
        break;
      case 'response': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve(m.value);
        break;
      }
      case 'stopped':
        h.stopped = true;
        break;
      case 'failed': {
        const err = new StreamsError(`stream thread ${h.index} failed: ${m.error.message}`, {
          code: m.error.code ?? 'STREAM_THREAD_FAILED',
          domain: 'internal',
        });
        h.state = 'failed';
        this.onThreadFailure(h, err);
        break;
      }
    }
  }

  /** A thread that fails before it started fails the start; after, it stops every thread. */
  private onThreadFailure(h: StartingThread, err: unknown): void {
    h.rejectStarted(err);
    void this.onFatal(err);
  }

  private async onFatal(err: unknown): Promise<void> {
    if (['stopping', 'stopped', 'failed'].includes(this.stateValue)) return;
    this.failure = err;
    await this.close().catch(() => {});
    this.stateValue = 'failed';
    for (const l of this.failureListeners) l(err);
  }

  /** Graceful shutdown of every thread: each commits, closes its stores and leaves the group. */
  async close(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'stopping') return;
    this.stateValue = 'stopping';
    await this.stopThreads();
    this.stateValue = 'stopped';
  }

  private async stopThreads(): Promise<void> {
    for (const t of this.threads) this.post(t, { type: 'stop' });
    await Promise.all(this.threads.map((t) => t.exited));
    for (const p of this.pending.values()) p.reject(new Error('stream threads stopped'));
    this.pending.clear();
  }

  private post(t: ThreadHandle, m: MainToThread): void {
    try {
      t.worker.postMessage(m);
    } catch {
      /* the worker is gone */
    }
  }

  /** Asks every running thread's module `kind` (see hostThread's handlers); one answer each. */
  async request(kind: string): Promise<unknown[]> {
    const live = this.threads.filter((t) => t.state !== 'failed' && !t.stopped);
    return Promise.all(
      live.map(
        (t) =>
          new Promise<unknown>((resolve, reject) => {
            const id = this.nextRequest++;
            this.pending.set(id, { resolve, reject });
            this.post(t, { type: 'request', id, kind });
          }),
      ),
    );
  }

  /** Why the instance is not ready (null when every thread's assigned tasks run). */
  notReadyReason(): string | null {
    if (this.stateValue !== 'running') return `instance is ${this.stateValue}`;
    const reasons = this.threads
      .filter((t) => t.notReady !== null)
      .map((t) => `thread ${t.index}: ${t.notReady}`);
    return reasons.length ? reasons.join('; ') : null;
  }
}

/** `flags` without those that load tsx (`--import tsx`, `--require …/tsx/…`, …). */
function withoutTsx(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (
      /^--(import|require|loader|experimental-loader)$/.test(f) &&
      /tsx/.test(flags[i + 1] ?? '')
    ) {
      i++;
      continue;
    }
    if (/^--(import|require|loader|experimental-loader)=.*tsx/.test(f)) continue;
    out.push(f);
  }
  return out;
}

function isTypeScript(file: string): boolean {
  return /\.[cm]?ts$/.test(file.startsWith('file:') ? fileURLToPath(file) : file);
}

function toUrl(file: string): string {
  return file.startsWith('file:') ? file : new URL(`file://${path.resolve(file)}`).href;
}

/** runtime/thread-host.{ts,js} beside this module. */
function hostModuleUrl(): string {
  const ext = path.extname(fileURLToPath(import.meta.url));
  return new URL(`./thread-host${ext}`, import.meta.url).href;
}

function tsxUrl(): string {
  return import.meta.resolve('tsx/esm/api');
}
