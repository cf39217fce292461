/**
 * One benchmark instance in its own process, so its memory is measured alone. Env: APP,
 * INPUT, OUTPUT, KIND (stateless|stateful|stateful-on-commit), GUARANTEE, BROKERS, STATE_DIR, EXPECTED.
 * Prints JSON lines: {event:'done', seconds, processed, peakRssMiB} when every expected
 * record was processed and committed (time from the first record consumed).
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import { benchTopology, type BenchKind } from './lib/topologies.js';
import { StreamsApp } from '../runtime/app.js';
import { StreamThreads } from '../runtime/threads.js';
import type { EngineThreadArgs } from './engine-thread.js';
import { peakRssMib, rssMib } from './lib/results.js';
import { applyHeapGrowing } from '../bin/heap.js';

// The heap setting `millrace run` applies (MILLRACE_HEAP_GROWING_PERCENT, default 50): the
// instance is measured as the command runs it.
const heapError = applyHeapGrowing();
if (heapError) throw new Error(heapError);

const env = (k: string) =>
  process.env[k] ??
  (() => {
    throw new Error(`${k} not set`);
  })();
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

// BENCH_PROFILE_DIR=dir: write a CPU profile of this instance (where the time goes);
// BENCH_HEAP_PROFILE_DIR=dir: a sampling profile of what it allocates (every 64 KiB on
// average), the objects collected since included (where the garbage comes from). Written when
// the instance is done (EXPECTED > 0) or stopped with SIGTERM.
const profileDir = process.env.BENCH_PROFILE_DIR;
const heapProfileDir = process.env.BENCH_HEAP_PROFILE_DIR;
const session = profileDir || heapProfileDir ? new inspector.Session() : undefined;
const post = (method: string, params?: object) =>
  new Promise<any>((resolve, reject) =>
    session!.post(method, params, (e, res) => (e ? reject(e) : resolve(res))),
  );
if (session) {
  session.connect();
  if (profileDir) await post('Profiler.enable').then(() => post('Profiler.start'));
  if (heapProfileDir)
    await post('HeapProfiler.enable').then(() =>
      post('HeapProfiler.startSampling', {
        samplingInterval: 65536,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      }),
    );
}
async function writeProfile(): Promise<void> {
  if (profileDir) {
    const { profile } = await post('Profiler.stop');
    fs.mkdirSync(profileDir, { recursive: true });
    fs.writeFileSync(`${profileDir}/${env('APP')}.cpuprofile`, JSON.stringify(profile));
  }
  if (heapProfileDir) {
    const { profile } = await post('HeapProfiler.stopSampling');
    fs.mkdirSync(heapProfileDir, { recursive: true });
    fs.writeFileSync(`${heapProfileDir}/${env('APP')}.heapprofile`, JSON.stringify(profile));
  }
}

// BENCH_COMMIT_STATS=1: time every task commit (start of its send to its end) and say how
// long they took, as {event:'commit-stats'}, when the instance is stopped (where latency goes).
const commitSeconds: number[] = [];
const observer =
  process.env.BENCH_COMMIT_STATS === '1'
    ? { onCommit: (_task: string, seconds: number) => void commitSeconds.push(seconds) }
    : {};
function sayCommitStats(): void {
  if (!commitSeconds.length) return;
  const ms = commitSeconds.map((s) => s * 1000).sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(ms[Math.min(ms.length - 1, Math.floor((ms.length * p) / 100))]!);
  say({
    event: 'commit-stats',
    commits: ms.length,
    p50_ms: at(50),
    p90_ms: at(90),
    p99_ms: at(99),
    max_ms: at(100),
  });
}

const expected = Number(env('EXPECTED'));
const config = {
  applicationId: env('APP'),
  bootstrapServers: env('BROKERS'),
  processingGuarantee: env('GUARANTEE') as 'exactly_once' | 'at_least_once',
  stateDir: env('STATE_DIR'),
};
// THREADS > 1: one instance of that many stream threads (bench/engine-thread.ts in each).
const threads = Number(process.env.THREADS ?? 1);
const app =
  threads > 1
    ? new StreamThreads(
        {
          module: new URL('./engine-thread.ts', import.meta.url).href,
          args: {
            kind: env('KIND') as BenchKind,
            input: env('INPUT'),
            output: env('OUTPUT'),
          } satisfies EngineThreadArgs,
        },
        { ...config, numStreamThreads: threads },
      )
    : new StreamsApp(
        benchTopology(env('KIND') as BenchKind, env('INPUT'), env('OUTPUT')),
        config,
        observer,
      );
// An instance that fails ends the worker, so the bench stops with the cause instead of
// waiting for records that will never be processed.
app.onFailure((err) => {
  process.stderr.write(`engine-worker: the instance failed: ${String(err)}\n`);
  process.exit(1);
});
await app.start();
// With EXPECTED=0 the instance just runs (the latency case drives it from outside and
// stops it with SIGTERM); it says when all its tasks run.
if (expected === 0) {
  const ready = setInterval(() => {
    const tasks = [...app.tasks.values()];
    if (tasks.length && tasks.every((t) => t.state === 'running')) {
      clearInterval(ready);
      say({ event: 'running', tasks: tasks.length });
    }
  }, 20);
  process.once('SIGTERM', () => {
    sayCommitStats();
    void writeProfile()
      .then(() => app.close())
      .then(() => process.exit(0));
  });
}
let first = 0;
const poll = setInterval(() => {
  const tasks = [...app.tasks.values()];
  const processed = tasks.reduce((n, t) => n + t.stats.processed, 0);
  if (!first && processed > 0) first = performance.now() - 2;
  if (expected > 0 && processed >= expected && tasks.every((t) => !t.hasUncommitted)) {
    clearInterval(poll);
    const seconds = (performance.now() - first) / 1000;
    say({ event: 'done', seconds, processed, peakRssMiB: peakRssMib() ?? rssMib() });
    void writeProfile()
      .then(() => app.close())
      .then(() => process.exit(0));
  }
}, 2);
