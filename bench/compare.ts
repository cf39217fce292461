/**
 * `npm run bench:compare`: millrace against Kafka Streams in one run, on one broker, and
 * both against the broker's own limit.
 *   - the limit: Kafka's ProducerPerformance (N × 100-byte records, acks=all, 8 partitions)
 *     and ConsumerPerformance (the preloaded input), from the broker's own jars
 *   - bench:engine's cases against bench:kstreams' matching ones (stateless map/filter;
 *     count-by-key forwarding every update against KS with its record cache off; count-by-key
 *     collapsing updates per commit against KS's default cache), both sides configured alike
 *     (millrace as a library in a process of its own, bench/engine-worker.ts)
 *   - each side at its defaults: `millrace run topology.yaml` (the command a user runs, a
 *     separate process) against a Kafka Streams count with its defaults
 *   - one millrace instance against one stream thread, and two against two
 * Every run is timed the same way, from outside (bench/lib/probe.ts): a separate admin
 * client watches the group's committed offsets; the window runs from the first commit seen
 * once the group is complete (Stable, all members) to the commit that reaches the input's
 * end. The two sides of a pair run one after the other, in alternating order.
 *
 * Writes bench/results/compare-<date>-<commit>.json (each run, each pair's ratio and each
 * side's ratio to the produce limit, the machine's load before and after, the CPU others
 * used during each run) and the pairs' table in latest.md.
 *
 * BENCH_RECORDS (2,000,000), BENCH_SCALES=1,2, BENCH_CASES=word,… (pair ids containing a
 * word: stateless, count-every, count-collapsed, count-defaults, eos, alos, x1, x2),
 * BENCH_REPEAT (runs per side; the median counts), BENCH_LIMITS=0 skips the perf tools,
 * BENCH_SCALE_OUT=threads (default: two against two is one millrace instance of two stream
 * threads) or instances (two millrace processes).
 * Starts the local broker if it is not running (and stops only what it started).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../connectors/kafka/client.js';
import { endpoints, loadConfig } from '../deploy/local/config.js';
import { down, up } from '../deploy/local/infra.js';
import { readState } from '../deploy/local/state.js';
import { commitIntervalMs as ksCommitIntervalMs, parseDone } from './lib/kstreams-cases.js';
import { createTopics, deleteTopicsWithPrefix } from '../connectors/kafka/topics.js';
import { startChild } from '../harness/processes.js';
import { BUILT_ENV, buildCli } from './lib/built-cli.js';
import {
  comparePairs,
  pairResult,
  parseConsumerPerformance,
  parseProducerPerformance,
  scaleLabel,
  type Limits,
  type PairDef,
  type PairResult,
  type ScaleOut,
} from './lib/compare.js';
import { ensureJar, jvmDefaults, startKStreams } from './lib/kstreams-runner.js';
import { deleteGroupsWithPrefix } from './lib/groups.js';
import { preload } from './lib/preload.js';
import { CommitProbe } from './lib/probe.js';
import { CpuWindow } from './lib/procstat.js';
import { peakRssMib, writeResults, type BenchCase } from './lib/results.js';

const N = Number(process.env.BENCH_RECORDS ?? 2_000_000);
const SCALES = (process.env.BENCH_SCALES ?? '1,2').split(',').map(Number) as Array<1 | 2>;
if (!SCALES.every((s) => s === 1 || s === 2))
  throw new Error(`BENCH_SCALES=${process.env.BENCH_SCALES}: use 1, 2 or 1,2`);
const ONLY = process.env.BENCH_CASES?.split(',').map((w) => w.trim());
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const SCALE_OUT = (process.env.BENCH_SCALE_OUT ?? 'threads') as ScaleOut;
if (SCALE_OUT !== 'threads' && SCALE_OUT !== 'instances')
  throw new Error(`BENCH_SCALE_OUT=${SCALE_OUT}: use threads or instances`);
const run = `bench-cmp-${randomUUID().slice(0, 6)}`;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bench-compare-'));
const repoRoot = path.resolve(import.meta.dirname, '..');
const log = (m: string) => process.stderr.write(`[bench:compare] ${m}\n`);
const KAFKA_JAVA_FLAGS: string[] = [];

// --- the broker's limit (Kafka's perf tools) ---------------------------------------

function runJava(classpath: string, main: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', [...KAFKA_JAVA_FLAGS, '-cp', classpath, main, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${main} exited ${code}: ${err.slice(-1000)}`)),
    );
  });
}

async function limits(
  kafka: Kafka,
  kafkaLibs: string,
  brokers: string[],
  input: string,
): Promise<Limits> {
  const topic = `${run}-limit`;
  await createTopics(kafka, [{ topic, partitions: 8 }]);
  const produced = await runJava(kafkaLibs, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(N),
    '--record-size',
    '100',
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${brokers.join(',')}`,
    'acks=all',
  ]);
  const produce = parseProducerPerformance(produced);
  log(`produce limit: ${produce} records/s`);
  const consumed = await runJava(kafkaLibs, 'org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    brokers.join(','),
    '--topic',
    input,
    '--num-records',
    String(N),
    '--group',
    `${run}-consume-limit`,
  ]);
  const consume = parseConsumerPerformance(consumed);
  log(`consume limit: ${consume} records/s`);
  return { produce_records_per_s: produce, consume_records_per_s: consume };
}

// --- the processes under test ---------------------------------------------------------

interface Proc {
  pid: number;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): void;
  stderrTail(): string;
}

/** A process started from Node with its stdout/stderr kept in `<runDir>/bench-compare/`. */
function spawned(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const dir = path.join(cfg.runDir, 'bench-compare');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = fs.createWriteStream(path.join(dir, `${name}.log`));
  let tail = '';
  child.stdout.pipe(out, { end: false });
  child.stderr.on('data', (b: Buffer) => {
    out.write(b);
    tail = (tail + b.toString('utf8')).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      out.end();
      resolve(code);
    }),
  );
  return {
    pid: child.pid!,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    stderrTail: () => tail,
  };
}

/** The command a user runs: the package's bin (`millrace`), with plain node, running dist/ (BUILT_ENV). */
function millraceBin(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  return path.join(repoRoot, pkg.bin.millrace!);
}

/** A count-by-key topology file with every option at its default (as a user writes it). */
function countYaml(file: string, input: string, output: string): void {
  fs.writeFileSync(
    file,
    [
      'name: compare-count',
      'stores:',
      '  - { name: count, kind: keyValue, keySerde: string, valueSerde: int64 }',
      'nodes:',
      `  - { source: input, topics: [${input}], keySerde: string, valueSerde: bytes }`,
      '  - { processor: count, type: count, parents: [input], options: { store: count }, stores: [count] }',
      `  - { sink: out, topic: ${output}, parents: [count], keySerde: string, valueSerde: int64 }`,
      '',
    ].join('\n'),
  );
}

function startMillrace(p: PairDef, appId: string, input: string, output: string): Proc[] {
  const procs: Proc[] = [];
  // Two against two: one instance of two stream threads (BENCH_SCALE_OUT=instances: two
  // instances, each its own process).
  const perProcess = SCALE_OUT === 'threads' ? p.scale : 1;
  for (let i = 0; i < p.scale / perProcess; i++) {
    const stateDir = path.join(root, appId, `instance-${i}`);
    if (p.millrace.how === 'library') {
      const c = startChild(`${appId}-${i}`, 'bench/engine-worker.ts', [], {
        APP: appId,
        INPUT: input,
        OUTPUT: output,
        KIND: p.millrace.kind,
        GUARANTEE: p.guarantee,
        BROKERS: brokers.join(','),
        STATE_DIR: stateDir,
        // 0: the worker runs until SIGTERM; the probe says when the input is done.
        EXPECTED: '0',
        THREADS: String(perProcess),
      });
      procs.push({
        pid: c.pid,
        exited: c.exited,
        stop: () => c.signal('SIGTERM'),
        stderrTail: () => c.stderr.join('').slice(-2000),
      });
    } else {
      const yaml = path.join(root, `${appId}.yaml`);
      countYaml(yaml, input, output);
      procs.push(
        spawned(
          `${appId}-${i}`,
          process.execPath,
          [
            millraceBin(),
            'run',
            yaml,
            '--app-id',
            appId,
            '--brokers',
            brokers.join(','),
            '--guarantee',
            p.guarantee,
            '--state-dir',
            stateDir,
            '--metrics-port',
            '0',
            '--num-stream-threads',
            String(perProcess),
          ],
          { ...process.env, ...BUILT_ENV },
        ),
      );
    }
  }
  return procs;
}

type KSProc = Proc & { done: Promise<string> };

function startKS(p: PairDef, appId: string, input: string, output: string): KSProc {
  const guarantee = p.guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once';
  const k = startKStreams(
    classpath,
    {
      APP: appId,
      INPUT: input,
      OUTPUT: output,
      KIND: p.kstreams.kind,
      GUARANTEE: guarantee,
      THREADS: String(p.scale),
      BROKERS: brokers.join(','),
      STATE_DIR: path.join(root, appId),
      EXPECTED: String(N),
      // Kafka Streams' commit interval is set to millrace's default for the guarantee (1 s
      // at-least-once, 100 ms exactly-once) in every case, the defaults cases too: the
      // window ends at a commit, and KS's own at-least-once default (30 s) would time its
      // commit interval rather than its processing.
      COMMIT_INTERVAL_MS: String(ksCommitIntervalMs(guarantee)),
      CACHE_MAX_BYTES:
        p.kstreams.cacheMaxBytes === undefined ? '' : String(p.kstreams.cacheMaxBytes),
    },
    path.join(cfg.runDir, 'bench-compare', `${appId}.log`),
  );
  const exited = new Promise<number | null>((resolve) =>
    k.proc.once('exit', (code) => resolve(code)),
  );
  k.done.catch(() => {});
  return {
    pid: k.proc.pid!,
    exited,
    done: k.done,
    stop: () => {
      if (k.proc.exitCode === null && k.proc.signalCode === null) k.proc.kill('SIGTERM');
    },
    stderrTail: () => '',
  };
}

// --- one measured run ---------------------------------------------------------------

type Side = 'millrace' | 'kstreams';

async function runSide(p: PairDef, side: Side, rep: number): Promise<BenchCase> {
  const appId = `${run}-${p.id}-${side === 'millrace' ? 'mr' : 'ks'}${rep}`;
  const output = `${appId}-out`;
  await createTopics(kafka, [{ topic: output, partitions: 8 }]);
  const loadAtStart = os.loadavg()[0]!;
  const t0 = performance.now();
  const procs =
    side === 'millrace'
      ? startMillrace(p, appId, input, output)
      : [startKS(p, appId, input, output)];
  let cpu: CpuWindow | undefined;
  const probe = new CommitProbe(admin, {
    groupId: appId,
    topic: input,
    ends,
    members: p.scale,
    onWindowStart: () =>
      (cpu = new CpuWindow([
        'self',
        ...(brokerPid ? [brokerPid] : []),
        ...procs.map((x) => x.pid),
      ])),
  });
  // A process that ends before the input is committed failed (Kafka Streams' ends itself
  // once done, with 0).
  const failed = procs.map((x) =>
    x.exited.then((code) => {
      if (side === 'kstreams' && code === 0) return new Promise<never>(() => {});
      throw new Error(`${appId}: a process exited (${code}) before the end: ${x.stderrTail()}`);
    }),
  );
  let window;
  try {
    window = await Promise.race([probe.run(), ...failed]);
  } finally {
    probe.stop();
  }
  const used = cpu?.end();
  const wallSeconds = (performance.now() - t0) / 1000;
  const rss = procs.map((x) => peakRssMib(x.pid));
  if (side === 'millrace') for (const x of procs) x.stop();
  const codes = await Promise.all(procs.map((x) => withTimeout(x.exited, 60_000)));
  // Kafka Streams ends itself once it has seen the same end; it reports its own peak RSS.
  const ks = (procs[0] as Partial<KSProc>).done;
  if (ks) rss[0] = parseDone(await ks).peakRssMiB;
  if (side === 'millrace' && codes.some((c) => c !== 0))
    log(`${appId}: an instance exited with ${codes.join(',')} after SIGTERM`);
  const cpuSeconds = procs.map((x) => round(used?.perPid.get(x.pid) ?? 0));
  const r: BenchCase = {
    case: `${p.name} — ${side === 'millrace' ? (p.millrace.how === 'cli' ? 'millrace run (CLI)' : 'millrace') : 'Kafka Streams'}, ${scaleLabel(p.scale, SCALE_OUT)}`,
    guarantee: p.guarantee,
    records: window.records,
    seconds: round(window.seconds),
    records_per_s: window.recordsPerS,
    p50_ms: null,
    p99_ms: null,
    rss_mib: Math.max(...rss.map((x) => x ?? 0)),
    pair: p.id,
    side,
    repeat: rep,
    processes: procs.length,
    rss_mib_each: rss,
    cpu_s_each: cpuSeconds,
    broker_cpu_s: brokerPid ? round(used?.perPid.get(brokerPid) ?? 0) : null,
    others_cpu_share: used ? round(used.othersShare) : null,
    load_1m_at_start: Math.round(loadAtStart * 100) / 100,
    committed_at_window_start: window.committedAtStart,
    wall_s_from_spawn: round(wallSeconds),
  };
  log(
    `${p.id} ${side}: ${r.records_per_s} records/s over ${r.seconds} s (${window.records} records), RSS ${rss.join('/')} MiB, CPU ${cpuSeconds.join('/')} s, others' share ${r.others_cpu_share}`,
  );
  return r;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    p,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref()),
  ]);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

// --- main ---------------------------------------------------------------------------

const cfg = loadConfig();
const classpath = ensureJar(cfg, log);
const jvm = jvmDefaults();
const started = await up({ services: ['kafka'], progress: log }, cfg);
const brokers = endpoints(cfg).kafkaBrokers;
const brokerPid = readState(cfg.runDir).services.kafka?.pid;
const kafka = createKafka({ brokers, clientId: run });
const admin: Admin = kafka.admin();
await admin.connect();
const input = `${run}-in`;
let ends = new Map<number, number>();
try {
  const kafkaLibs = path.join(cfg.cacheDir, `kafka-${cfg.kafka.version}`, 'libs', '*');
  await createTopics(kafka, [{ topic: input, partitions: 8 }]);
  await preload(kafka, input, N, 10_000, log);
  ends = new Map((await admin.fetchTopicOffsets(input)).map((o) => [o.partition, Number(o.high)]));
  const lim =
    process.env.BENCH_LIMITS === '0' ? undefined : await limits(kafka, kafkaLibs, brokers, input);
  const rows: BenchCase[] = [];
  const pairs: PairResult[] = [];
  const defs = comparePairs(SCALES, ONLY);
  if (defs.some((p) => p.millrace.how === 'cli')) buildCli(log);
  for (const [i, p] of defs.entries()) {
    const rates: Record<Side, BenchCase[]> = { millrace: [], kstreams: [] };
    for (let rep = 0; rep < REPEAT; rep++) {
      const order: Side[] =
        (i + rep) % 2 === 0 ? ['millrace', 'kstreams'] : ['kstreams', 'millrace'];
      for (const side of order) {
        const r = await runSide(p, side, rep);
        rows.push(r);
        rates[side].push(r);
      }
    }
    const side = (s: Side) => ({
      records_per_s: Math.round(median(rates[s].map((r) => r.records_per_s!))),
      rss_mib: Math.max(...rates[s].map((r) => r.rss_mib ?? 0)),
    });
    const pr = pairResult(
      p,
      side('millrace'),
      side('kstreams'),
      lim?.produce_records_per_s ?? undefined,
      SCALE_OUT,
    );
    pairs.push(pr);
    log(`${p.id}: ratio ${pr.ratio}`);
  }
  const file = writeResults(
    'compare',
    'npm run bench:compare',
    rows,
    [
      `Same broker (Kafka ${cfg.kafka.version}, on this machine) for everything; ${N} records of 100 bytes, 10,000 keys, input and output topics of 8 partitions.`,
      'Each run is timed from outside by one probe (an admin client polling the group’s committed offsets every 10 ms): from the first commit seen once the group is Stable with all its members, to the commit reaching the input’s end; the records committed before the window are not counted. Both sides of a pair run one after the other, in alternating order; with BENCH_REPEAT > 1 a pair takes each side’s median.',
      `millrace: bench/engine-worker.ts (the runtime as a library, in a process of its own; the heap setting of millrace run) for the library pairs, \`node ${path.relative(repoRoot, millraceBin())} run topology.yaml\` with MILLRACE_BUILT=1 (the built CLI, dist/ with plain node, as installed) and every setting at its default for the defaults pairs; 2 = ${SCALE_OUT === 'threads' ? 'one instance of two stream threads (numStreamThreads 2)' : 'two instances (processes)'}. Kafka Streams ${cfg.kafka.version}: one JVM with no flags (${jvm}), 1 or 2 stream threads, commit.interval.ms set to millrace’s default for the guarantee (1 s / 100 ms; KS’s own at-least-once default, 30 s, would time its commit interval), everything else at its default unless the pair says (record cache off).`,
      'others_cpu_share: the share of the machine’s two cores used by processes other than this bench’s (the broker, the driver and the processes under test) during the window; load: the machine’s load averages.',
    ].join(' '),
    { limits: lim ?? null, pairs, jvm },
  );
  log(`wrote ${file}`);
} finally {
  await admin.disconnect().catch(() => {});
  await deleteTopicsWithPrefix(kafka, run);
  await deleteGroupsWithPrefix(kafka, run);
  fs.rmSync(root, { recursive: true, force: true });
  await down(started, cfg);
}
