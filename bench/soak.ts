/**
 * `npm run soak -- --minutes N`: a chaos soak on a three-node cluster of its own.
 *
 *   - three brokers (KRaft, RF 3, min ISR 2) on ports beside the local stack's
 *     (MILLRACE_SOAK_PORT, default MILLRACE_KAFKA_PORT + 20; controllers + 20 likewise);
 *   - three instances of the pipeline (`--app pipeline`, default: `millrace ingest`
 *     synthetic at `--rate` trades/s, three `millrace run apps/finnhub-vwap`, `millrace
 *     sink` into DuckDB) or of the count-by-key app (`--app count`, a producer at `--rate`
 *     records/s);
 *   - an instance `kill -9`'d at random every 5–30 s and restarted on its state; a broker
 *     `kill -9`'d every 2 minutes and restarted 20 s later;
 *   - at the end the producer stops, the apps catch up, and a verifier compares every output
 *     with a computation from the input of its own: records in, out, lost, duplicated, and
 *     the longest time from a kill to every task running again.
 *
 * Result: `bench/results/soak-<date>-<commit>.json`. `--seed S` repeats a run's choices
 * (which instance, which broker, when) and its synthetic feed; the seed is printed.
 *
 *   npm run soak -- --minutes 10 [--app pipeline|count] [--guarantee exactly_once|at_least_once]
 *                   [--seed S] [--rate 2000] [--partitions 6] [--no-results]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../deploy/local/config.js';
import { down, up } from '../deploy/local/infra.js';
import { KafkaCluster } from '../deploy/local/kafka.js';
import type { ServiceEntry } from '../deploy/local/state.js';
import { createKafka } from '../connectors/kafka/client.js';
import { stopAll, type Child } from '../harness/processes.js';
import { writeResults } from './lib/results.js';
import { countFleet } from './soak/count-fleet.js';
import { pipelineFleet } from './soak/pipeline-fleet.js';
import type { Fleet, SoakOptions } from './soak/fleet.js';

const log = (m: string) =>
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parse(argv: string[]): SoakOptions & { results: boolean } {
  const o = {
    minutes: 10,
    app: 'pipeline' as 'pipeline' | 'count',
    guarantee: 'exactly_once' as 'exactly_once' | 'at_least_once',
    seed: Math.floor(Math.random() * 2 ** 31),
    rate: 2000,
    partitions: 6,
    brokerEveryS: 120,
    brokerDownS: 20,
    killMinS: 5,
    killMaxS: 30,
    results: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const num = (name: string, x: string) => {
      const n = Number(x);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} ${x}: give a positive number`);
      return n;
    };
    if (a === '--minutes') o.minutes = num(a, v());
    else if (a === '--app') {
      const x = v();
      if (x !== 'pipeline' && x !== 'count') throw new Error('--app takes pipeline or count');
      o.app = x;
    } else if (a === '--guarantee') {
      const x = v();
      if (x !== 'exactly_once' && x !== 'at_least_once')
        throw new Error('--guarantee takes exactly_once or at_least_once');
      o.guarantee = x;
    } else if (a === '--seed') o.seed = Math.floor(num(a, v()));
    else if (a === '--rate') o.rate = num(a, v());
    else if (a === '--partitions') o.partitions = Math.floor(num(a, v()));
    else if (a === '--broker-every') o.brokerEveryS = num(a, v());
    else if (a === '--broker-down') o.brokerDownS = num(a, v());
    else if (a === '--no-results') o.results = false;
    else
      throw new Error(
        `unknown option ${a}; options: --minutes N --app pipeline|count --guarantee G --seed S --rate R --partitions P --broker-every S --broker-down S --no-results`,
      );
  }
  return o;
}

/** A seeded PRNG (LCG): the run's choices repeat with its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Kills since which not every task has been running, and the longest such wait so far. */
class Recovery {
  private pending: Array<{ what: string; at: number }> = [];
  readonly seconds: Record<'instance' | 'broker', number[]> = { instance: [], broker: [] };

  killed(what: 'instance' | 'broker'): void {
    this.pending.push({ what, at: Date.now() });
  }

  /** Called with whether every task runs now. */
  observe(allRunning: boolean): void {
    if (!allRunning || !this.pending.length) return;
    const now = Date.now();
    for (const p of this.pending)
      this.seconds[p.what as 'instance' | 'broker'].push((now - p.at) / 1000);
    this.pending = [];
  }

  /** Kills not recovered from yet (at the end: counted at the time they have waited). */
  open(): number {
    return this.pending.length;
  }

  max(what?: 'instance' | 'broker'): number | null {
    const xs = what ? this.seconds[what] : [...this.seconds.instance, ...this.seconds.broker];
    const pendingMax = Math.max(0, ...this.pending.map((p) => (Date.now() - p.at) / 1000));
    const m = Math.max(pendingMax, ...xs);
    return xs.length || this.pending.length ? Math.round(m * 10) / 10 : null;
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const cfg = loadConfig();
  const dir = path.join(cfg.runDir, 'soak');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-soak-'));
  const rnd = prng(o.seed);
  log(
    `seed ${o.seed}: ${o.minutes} min, app ${o.app}, ${o.guarantee}, ${o.rate}/s, ${o.partitions} partitions; logs in ${dir}`,
  );

  const envPort = (n: string) => (process.env[n] ? Number(process.env[n]) : undefined);
  const cluster = new KafkaCluster(cfg, {
    host: cfg.host,
    port: envPort('MILLRACE_SOAK_PORT') ?? cfg.kafka.port + 20,
    controllerPort: envPort('MILLRACE_SOAK_CONTROLLER_PORT') ?? cfg.kafka.controllerPort + 20,
    dir: path.join(dir, 'cluster'),
    brokers: 3,
    heap: process.env.MILLRACE_SOAK_BROKER_HEAP ?? '512m',
  });
  await cluster.checkPorts('MILLRACE_SOAK_PORT', 'MILLRACE_SOAK_CONTROLLER_PORT');
  let registry: ServiceEntry[] = [];
  let fleet: Fleet | undefined;
  const stopEverything = async () => {
    await fleet?.close().catch(() => {});
    await stopAll();
    await cluster.stop(10_000);
    if (registry.length) await down(registry, cfg);
  };
  process.once('SIGINT', () => void stopEverything().then(() => process.exit(130)));
  try {
    const t0 = Date.now();
    await cluster.start(180_000);
    log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${cluster.bootstrap.join(',')}`);
    if (o.app === 'pipeline') registry = await up({ services: ['registry'] }, cfg);
    const kafka = createKafka({ brokers: cluster.bootstrap, clientId: 'soak' });
    const ctx = { cluster, kafka, work, log, registryUrl: endpointsRegistry(cfg) };
    fleet = o.app === 'pipeline' ? await pipelineFleet(o, ctx) : await countFleet(o, ctx);
    const f = fleet;
    process.env.MILLRACE_TEST_LOG_DIR = path.join(dir, 'processes');

    // Three instances, then the producer, then chaos until the time is up.
    const names = ['i1', 'i2', 'i3'];
    const instances = new Map<string, Child>();
    for (const n of names) instances.set(n, f.startInstance(n));
    await waitAllRunning(f, instances, 300_000);
    log(`3 instances running ${f.tasks} tasks; producing`);
    await f.startProducer();
    const started = Date.now();
    const end = started + o.minutes * 60_000;
    const recovery = new Recovery();
    let instanceKills = 0;
    let brokerKills = 0;
    const failures: string[] = [];
    let nextKill = started + (o.killMinS + rnd() * (o.killMaxS - o.killMinS)) * 1000;
    let nextBroker = started + o.brokerEveryS * 1000;
    const brokerBack: Array<{ id: number; at: number }> = [];
    while (Date.now() < end) {
      const now = Date.now();
      // Instances that exited on their own are failures: recorded, and started again.
      for (const [n, c] of instances)
        if (c.proc.exitCode !== null || c.proc.signalCode !== null) {
          if (c.proc.signalCode !== 'SIGKILL') {
            const why = c.lines.find((l) => l.event === 'failed')?.error ?? c.proc.exitCode;
            failures.push(`${n} (pid ${c.pid}) exited: ${String(why)}`);
            log(`instance ${n} exited on its own: ${String(why)}; starting it again`);
            recovery.killed('instance');
          }
          instances.set(n, f.startInstance(n));
        }
      if (now >= nextKill) {
        const n = names[Math.floor(rnd() * names.length)]!;
        const c = instances.get(n)!;
        log(`kill -9 instance ${n} (pid ${c.pid})`);
        c.signal('SIGKILL');
        await c.exited;
        recovery.killed('instance');
        instanceKills++;
        instances.set(n, f.startInstance(n));
        nextKill = Date.now() + (o.killMinS + rnd() * (o.killMaxS - o.killMinS)) * 1000;
      }
      if (now >= nextBroker) {
        const id = cluster.nodes[Math.floor(rnd() * cluster.nodes.length)]!.id;
        log(`kill -9 broker ${id}`);
        await cluster.kill(id);
        recovery.killed('broker');
        brokerKills++;
        brokerBack.push({ id, at: Date.now() + o.brokerDownS * 1000 });
        nextBroker += o.brokerEveryS * 1000;
      }
      for (const b of [...brokerBack])
        if (Date.now() >= b.at) {
          brokerBack.splice(brokerBack.indexOf(b), 1);
          log(`restarting broker ${b.id}`);
          cluster.launch(b.id);
          void cluster
            .awaitNode(b.id)
            .catch((err: unknown) => log(`broker ${b.id}: ${String(err)}`));
        }
      recovery.observe(await allRunning(f, instances));
      await sleep(500);
    }
    for (const b of brokerBack) {
      cluster.launch(b.id);
      await cluster.awaitNode(b.id);
    }
    const produced = await f.stopProducer();
    const seconds = (Date.now() - started) / 1000;
    log(`producer stopped after ${seconds.toFixed(0)} s: ${produced.records} records acknowledged`);
    // Tasks may still be recovering from the last kill: wait, still measuring.
    const deadline = Date.now() + 300_000;
    while (recovery.open() && Date.now() < deadline) {
      for (const [n, c] of instances)
        if (c.proc.exitCode !== null || c.proc.signalCode !== null) {
          failures.push(`${n} (pid ${c.pid}) exited after the chaos`);
          instances.set(n, f.startInstance(n));
        }
      recovery.observe(await allRunning(f, instances));
      await sleep(500);
    }
    log('verifying (the apps catch up first)');
    const v = await f.verify(produced, [...instances.values()]);
    const result = {
      case: `soak ${o.app} ${o.minutes} min (3 brokers, 3 instances)`,
      guarantee: o.guarantee,
      records: v.recordsIn,
      seconds: Math.round(seconds),
      records_per_s: Math.round(v.recordsIn / seconds),
      p50_ms: null,
      p99_ms: null,
      rss_mib: null,
      app: o.app,
      minutes: o.minutes,
      seed: o.seed,
      rate: o.rate,
      instance_kills: instanceKills,
      broker_kills: brokerKills,
      instance_failures: failures.length,
      records_in: v.recordsIn,
      records_out: v.recordsOut,
      lost: v.lost,
      duplicated: v.duplicated,
      wrong: v.wrong,
      max_recovery_s: recovery.max(),
      max_instance_recovery_s: recovery.max('instance'),
      max_broker_recovery_s: recovery.max('broker'),
      // Every recovery, in the order of the kills (seconds).
      recovery_s: {
        instance: recovery.seconds.instance.map((x) => Math.round(x * 10) / 10),
        broker: recovery.seconds.broker.map((x) => Math.round(x * 10) / 10),
      },
      detail: v.detail,
    };
    const summary =
      `records in ${v.recordsIn}, out ${v.recordsOut}, lost ${v.lost}, duplicated ${v.duplicated}, wrong ${v.wrong}; ` +
      `${instanceKills} instance kills, ${brokerKills} broker kills, ${failures.length} instance failures; ` +
      `longest recovery ${result.max_recovery_s} s (instances ${result.max_instance_recovery_s}, brokers ${result.max_broker_recovery_s})`;
    log(summary);
    log(`detail: ${JSON.stringify(v.detail)}`);
    for (const e of v.examples) log(`  ${e}`);
    for (const e of failures) log(`  failure: ${e}`);
    if (o.results) {
      const command = `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim();
      const file = writeResults(
        'soak',
        command.includes('--seed') ? command : `${command} --seed ${o.seed}`,
        [result],
        `Seed ${o.seed}. ${summary}.`,
      );
      log(`wrote ${file}`);
    }
    const ok =
      v.lost === 0 &&
      v.wrong === 0 &&
      failures.length === 0 &&
      (o.guarantee === 'at_least_once' || v.duplicated === 0);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stopEverything();
    fs.rmSync(work, { recursive: true, force: true });
    for (const n of cluster.nodes)
      fs.rmSync(path.join(n.dir, 'data'), { recursive: true, force: true });
  }
}

function endpointsRegistry(cfg: ReturnType<typeof loadConfig>): string {
  return `http://${cfg.host}:${cfg.registry.port}/apis/ccompat/v7`;
}

/** True when the live instances run every task, each once. */
async function allRunning(f: Fleet, instances: Map<string, Child>): Promise<boolean> {
  const per = await Promise.all([...instances.values()].map((c) => f.runningTasks(c)));
  const all = per.flat();
  return all.length === f.tasks && new Set(all).size === f.tasks;
}

async function waitAllRunning(f: Fleet, instances: Map<string, Child>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await allRunning(f, instances))) {
    if (Date.now() > deadline) throw new Error(`tasks not all running after ${timeoutMs / 1000}s`);
    await sleep(500);
  }
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 2;
});
