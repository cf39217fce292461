/**
 * `millrace demo` (`npm run demo`): the whole pipeline on this machine. Starts the local
 * Kafka and schema registry if they are not up, then, each as its own process: the
 * ingest (Finnhub when FINNHUB_TOKEN is set, else the synthetic market — three minutes of
 * it backfilled at full speed so windows close at once, then live, as one feed), two
 * processing instances of apps/finnhub-vwap, and the DuckDB sink. Shows a live table of
 * the latest VWAP per symbol with rates and lag. Ctrl-C stops everything it started; if
 * any of its processes exits, the demo says which and stops the others.
 *
 * This file is the orchestration; cli/demo/ holds the parts: the local stack, the
 * processes, the feed, the start-over check, the measurements and the screen.
 */
import path from 'node:path';
import { environment } from '../../connectors/finnhub/env-file.js';
import { committedStreamTime, withAdmin } from '../../runtime/admin/index.js';
import { TOPICS } from '../../apps/finnhub-vwap/app.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import type { Command } from '../command.js';
import {
  startChild,
  stopChildren,
  watchChildren,
  Warnings,
  type DemoChild,
} from '../demo/children.js';
import { backfillStartOf, ingestArgs, type FeedPlan } from '../demo/feed.js';
import { PipelineSampler, VwapTail } from '../demo/figures.js';
import { startLocalStack, type LocalStack } from '../demo/local-stack.js';
import { Screen } from '../demo/screen.js';
import { startOverIfStale } from '../demo/start-over.js';
import { finnhubVwapApp } from '../self.js';

/** The demo's application id by default; the sink's id (and group) is it + `-sink`. */
const APP_ID = 'finnhub-vwap';
/** How often the screen is redrawn. */
const REDRAW_MS = 2000;
/** The metrics ports by default: the instances on 9464 and 9465, the sink on 9466. */
const METRICS_PORT = 9464;

interface DemoOptions {
  rate: number;
  symbols: number;
  duckdb: string;
  keepInfra: boolean;
  /** The first instance's metrics port; the second's is the next one, the sink's the one after. 0: free ports. */
  metricsPort: number;
  live: boolean;
  appId: string;
}

const num = (v: unknown, name: string, dflt: number, min = Number.MIN_VALUE) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new UsageError(
      `--${name} ${String(v)}: give a ${min === 0 ? 'port' : 'positive number'}`,
    );
  return n;
};

function options(argv: string[]): DemoOptions | undefined {
  const a = parseArgs(argv, {
    values: ['rate', 'symbols', 'duckdb', 'metrics-port', 'app-id'],
    booleans: ['keep-infra'],
  });
  if (a.flags.help || a.positionals.length) return undefined;
  return {
    rate: num(a.flags.rate, 'rate', 500),
    symbols: num(a.flags.symbols, 'symbols', 50),
    duckdb: String(a.flags.duckdb ?? path.join('data', 'millrace.duckdb')),
    keepInfra: a.flags['keep-infra'] === true,
    metricsPort: num(a.flags['metrics-port'], 'metrics-port', METRICS_PORT, 0),
    live: Boolean(environment().FINNHUB_TOKEN),
    appId: String(a.flags['app-id'] ?? APP_ID),
  };
}

const note = (s: string) => process.stdout.write(`demo: ${s}\n`);
const stateDir = (i: number) => path.join('.millrace', `demo-${i}`);

/** The feed: a synthetic one starts after the clock an earlier run committed, if any. */
async function feedPlan(o: DemoOptions, stack: LocalStack): Promise<FeedPlan> {
  const now = Date.now();
  const committed = o.live
    ? undefined
    : await withAdmin(stack.kafkaBrokers, 'millrace-demo', (admin) =>
        committedStreamTime(admin, o.appId, [TOPICS.raw]),
      );
  const startMs = backfillStartOf(now, committed);
  if (committed !== undefined && startMs === committed + 1000)
    note(
      `the last run's clock is at ${new Date(committed).toISOString()}: the feed starts after it`,
    );
  if (!o.live && startMs < now)
    note(`backfilling ${Math.round((now - startMs) / 1000)} s of synthetic trades, then live…`);
  return { live: o.live, symbols: o.symbols, rate: o.rate, startMs };
}

/** The ingest, two instances and the sink, each its own process. */
function startPipeline(
  o: DemoOptions,
  plan: FeedPlan,
  env: NodeJS.ProcessEnv,
  warnings: Warnings,
): DemoChild[] {
  const port = (i: number) => String(o.metricsPort === 0 ? 0 : o.metricsPort + i);
  const instance = (i: number) =>
    startChild(
      `instance-${i}`,
      ['run', finnhubVwapApp, '--app-id', o.appId].concat([
        '--metrics-port',
        port(i - 1),
        '--state-dir',
        stateDir(i),
      ]),
      env,
      warnings,
    );
  const children = [
    startChild('ingest', ingestArgs(plan), env, warnings),
    instance(1),
    instance(2),
    startChild(
      'sink',
      ['sink', '--duckdb', o.duckdb, '--sink-id', `${o.appId}-sink`, '--metrics-port', port(2)],
      env,
      warnings,
    ),
  ];
  note(`started ${children.map((c) => `${c.name} (pid ${c.child.pid})`).join(', ')}`);
  return children;
}

/** Redraws the screen until Ctrl-C or until one of the processes exits; stops them all. */
function showUntilDone(
  o: DemoOptions,
  parts: { stack: LocalStack; children: DemoChild[]; tail: VwapTail; warnings: Warnings },
): Promise<number> {
  const sampler = new PipelineSampler(parts.stack.kafkaBrokers, o.appId);
  const screen = new Screen();
  const feed = o.live ? 'Finnhub live' : `synthetic, ${o.symbols} symbols at ${o.rate} trades/s`;
  const sink = parts.children.find((c) => c.name === 'sink')!;
  const draw = async () => {
    const figures = await sampler.sample(sink.started?.metrics as string | undefined);
    const { latest, windows } = parts.tail;
    const warnings = [...parts.warnings.lines, ...(parts.tail.problem ? [parts.tail.problem] : [])];
    screen.show({
      feed,
      duckdb: o.duckdb,
      figures,
      windowsEmitted: windows,
      latest: latest.values(),
      warnings,
    });
  };
  return new Promise<number>((resolve) => {
    let stopping = false;
    const timer = setInterval(() => void draw(), REDRAW_MS);
    const finish = async (code: number) => {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      await stopDemo(o, parts);
      resolve(code);
    };
    process.once('SIGINT', () => void finish(EXIT.ok));
    process.once('SIGTERM', () => void finish(EXIT.ok));
    watchChildren(parts.children, (c, code) => {
      if (stopping) return;
      note(`${c.name} exited (${code}): ${c.lastLine.slice(0, 300)}`);
      void finish(EXIT.internal);
    });
  });
}

async function stopDemo(
  o: DemoOptions,
  parts: { stack: LocalStack; children: DemoChild[]; tail?: VwapTail },
): Promise<void> {
  note('stopping…');
  await parts.tail?.close();
  await stopChildren(parts.children);
  if (parts.stack.started.length && !o.keepInfra) {
    note(`stopping what the demo started: ${parts.stack.started.join(', ')}`);
    await parts.stack.stop();
  }
  note('stopped');
}

async function runDemo(o: DemoOptions): Promise<number> {
  note('starting the local Kafka and schema registry if they are not running…');
  const stack = await startLocalStack(note);
  const children: DemoChild[] = [];
  try {
    const store = { ...stack, appId: o.appId, sinkGroup: `${o.appId}-sink`, duckdb: o.duckdb };
    await startOverIfStale({ ...store, stateDirs: [stateDir(1), stateDir(2)] }, note);
    const plan = await feedPlan(o, stack);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MILLRACE_BOOTSTRAP_SERVERS: stack.kafkaBrokers.join(','),
      MILLRACE_REGISTRY_URL: stack.registryUrl,
    };
    const warnings = new Warnings();
    children.push(...startPipeline(o, plan, env, warnings));
    const tail = new VwapTail();
    tail.start(stack.kafkaBrokers, stack.registryUrl);
    return await showUntilDone(o, { stack, children, tail, warnings });
  } catch (err) {
    await stopDemo(o, { stack, children });
    throw err;
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'Run the whole pipeline locally (ingest, 2 instances, DuckDB sink) with a live VWAP table',
  usage:
    'millrace demo [--rate TRADES_PER_S] [--symbols N] [--duckdb FILE] [--metrics-port N] [--app-id ID] [--keep-infra]',
  async run(argv) {
    const o = options(argv);
    return o ? runDemo(o) : this.help();
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Starts the local Kafka and schema registry when absent (and stops them on exit unless --keep-infra), then,\n` +
        `each as its own process: the ingest (Finnhub with FINNHUB_TOKEN in the environment or ./.env; otherwise the\n` +
        `synthetic market, three minutes backfilled at full speed so windows close at once, then live: one feed, one\n` +
        `price walk), two processing instances and the DuckDB sink. If any of them exits, the demo says which and\n` +
        `stops the others.\n\n` +
        `  --rate N          synthetic trades per second (default 500)\n` +
        `  --symbols N       synthetic symbols (default 50)\n` +
        `  --duckdb FILE     the warehouse file (default data/millrace.duckdb; open it with the DuckDB CLI afterwards)\n` +
        `  --metrics-port N  the instances' /metrics on N and N+1, the sink's on N+2 (default 9464; 0: free ports)\n` +
        `  --app-id ID       the instances' application id (default finnhub-vwap); the sink's id is ID-sink\n` +
        `  --keep-infra      leave the Kafka and registry the demo started running\n`,
    );
    return EXIT.ok;
  },
};
