/**
 * `millrace demo` (`npm run demo`): the whole pipeline on this machine. Starts the local
 * Kafka and schema registry if they are not up, then, each as its own process: the
 * ingest (Finnhub when FINNHUB_TOKEN is set, else the synthetic market — first a
 * three-minute backfill at full speed so windows close at once, then live), two
 * processing instances of apps/finnhub-vwap, and the DuckDB sink. Shows a live table of
 * the latest VWAP per symbol with rates and lag. Ctrl-C stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { environment } from '../../connectors/finnhub/env-file.js';
import { sumSamples } from '../../observability/metrics.js';
import { tailTopics } from '../../connectors/kafka/tail.js';
import { endpoints, loadConfig } from '../../deploy/local/config.js';
import { down, up } from '../../deploy/local/infra.js';
import {
  appTopics,
  committedStreamTime,
  fetchStatus,
  waitUntilGone,
  withAdmin,
} from '../../runtime/admin/index.js';
import type { VwapWindow } from '../../processors/market/trade.js';
import { SERDES, TOPICS, serdes, topology } from '../../apps/finnhub-vwap/app.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import type { Command } from '../command.js';
import { finnhubVwapApp, millraceBin } from '../self.js';

const APP_ID = 'finnhub-vwap';
/** The group id `millrace sink` uses by default (its sink id). */
const SINK_GROUP = 'finnhub-vwap-sink';

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  lastLine: string;
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv, logs: string[]): Proc {
  const child = spawn(process.execPath, [millraceBin, ...args], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = {
    name,
    child,
    lastLine: '',
    exited: new Promise((r) => child.once('exit', (code) => r(code))),
  };
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      p.lastLine = line;
      if (/"level":"(error|warn)"|"event":"failed"/i.test(line)) {
        logs.push(`${name}: ${line.slice(0, 300)}`);
        if (logs.length > 5) logs.shift();
      }
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return p;
}

/**
 * The first topic of `topics` whose first record (Confluent framing: 0, then the schema id)
 * names a schema the registry does not know, as "topic (schema id N)"; undefined if none.
 */
async function unknownSchema(
  ep: { kafkaBrokers: string[]; registryUrl: string },
  topics: string[],
): Promise<string | undefined> {
  const ids = new Map<string, number>();
  const stopTail = await tailTopics({
    brokers: ep.kafkaBrokers,
    topics,
    clientId: 'millrace-demo-check',
    onRecord: (r) => {
      if (!ids.has(r.topic) && r.value && r.value.length >= 5 && r.value[0] === 0)
        ids.set(r.topic, r.value.readInt32BE(1));
    },
  });
  const deadline = Date.now() + 15_000;
  while (ids.size < topics.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  await stopTail();
  for (const [topic, id] of ids) {
    const res = await fetch(`${ep.registryUrl}/schemas/ids/${id}`, {
      signal: AbortSignal.timeout(5000),
    });
    if (res.status === 404) return `${topic} (schema id ${id})`;
  }
  return undefined;
}

/**
 * When the registry has lost schemas that Kafka's log still refers to (its data folder was
 * removed, it is an in-memory registry that was restarted, or another registry answers on
 * its port), the demo's topics hold records whose schema ids it no longer knows, and every
 * reader of them would stop. The demo owns those
 * topics, so it starts over: it deletes them, its app's internal topics, consumer groups and
 * local state, and moves its DuckDB file aside (nothing of the user's is deleted).
 */
async function startOverIfStale(
  ep: { kafkaBrokers: string[]; registryUrl: string },
  duckdb: string,
  stateDirs: string[],
  note: (s: string) => void,
): Promise<void> {
  const mine = [...Object.values(TOPICS), ...appTopics(topology(), APP_ID).internalTopics];
  const stale = await withAdmin(ep.kafkaBrokers, 'millrace-demo', async (admin) => {
    const existing = new Set(await admin.listTopics());
    const withRecords: string[] = [];
    for (const t of [TOPICS.raw, TOPICS.clean, TOPICS.vwap].filter((x) => existing.has(x))) {
      const offsets = await admin.fetchTopicOffsets(t);
      if (offsets.some((p) => Number(p.high) > Number(p.low))) withRecords.push(t);
    }
    if (!withRecords.length) return false;
    const unknown = await unknownSchema(ep, withRecords);
    if (!unknown) return false;
    note(
      `${unknown} holds records the registry does not know (it has lost the schemas they were written with): starting the demo over`,
    );
    const present = mine.filter((t) => existing.has(t));
    await admin.deleteTopics({ topics: present });
    await waitUntilGone(admin, present, note);
    await admin.deleteGroups([APP_ID, SINK_GROUP]).catch(() => {});
    return true;
  });
  if (!stale) return;
  for (const d of stateDirs) fs.rmSync(d, { recursive: true, force: true });
  if (fs.existsSync(duckdb)) {
    const aside = `${duckdb}.stale-${Date.now()}`;
    fs.renameSync(duckdb, aside);
    note(`moved ${duckdb} (offsets of the deleted topics) aside to ${aside}`);
  }
}

/** How much synthetic history the demo backfills. */
const BACKFILL_MS = 180_000;

/**
 * Where the synthetic backfill starts: three minutes back, at a minute boundary, or just
 * after `committed` (the stream time the app last committed) when that is later, so that
 * no backfilled trade is behind the app's clock. At or after `now`: no backfill.
 */
export function backfillStartOf(now: number, committed: number | undefined): number {
  const threeMinutesBack = Math.floor((now - BACKFILL_MS) / 60_000) * 60_000;
  return committed === undefined ? threeMinutesBack : Math.max(threeMinutesBack, committed + 1000);
}

const num = (v: unknown, name: string, dflt: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} ${String(v)}: give a positive number`);
  return n;
};

async function metric(url: string, name: string): Promise<number> {
  try {
    return sumSamples(await (await fetch(url, { signal: AbortSignal.timeout(1000) })).text(), name);
  } catch {
    return NaN;
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'Run the whole pipeline locally (ingest, 2 instances, DuckDB sink) with a live VWAP table',
  usage: 'millrace demo [--rate TRADES_PER_S] [--symbols N] [--duckdb FILE] [--keep-infra]',
  async run(argv) {
    const a = parseArgs(argv, { values: ['rate', 'symbols', 'duckdb'], booleans: ['keep-infra'] });
    if (a.flags.help || a.positionals.length) return this.help();
    const rate = num(a.flags.rate, 'rate', 500);
    const symbols = num(a.flags.symbols, 'symbols', 50);
    const duckdb = String(a.flags.duckdb ?? path.join('data', 'millrace.duckdb'));
    const dotenv = environment();
    const live = Boolean(dotenv.FINNHUB_TOKEN);
    const tty = process.stdout.isTTY;
    const note = (s: string) => process.stdout.write(`demo: ${s}\n`);

    const cfg = loadConfig();
    note('starting the local Kafka and schema registry if they are not running…');
    const started = await up({ services: ['kafka', 'registry'], progress: (l) => note(l) }, cfg);
    const ep = endpoints(cfg);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MILLRACE_BOOTSTRAP_SERVERS: ep.kafkaBrokers.join(','),
      MILLRACE_REGISTRY_URL: ep.registryUrl,
    };
    const logs: string[] = [];
    const procs: Proc[] = [];
    let stopping = false;
    const stateDir = (i: number) => path.join('.millrace', `demo-${i}`);
    await startOverIfStale(ep, duckdb, [stateDir(1), stateDir(2)], note);

    const stopAll = async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      const killer = setTimeout(() => procs.forEach((p) => p.child.kill('SIGKILL')), 15_000);
      await Promise.all(procs.map((p) => p.exited));
      clearTimeout(killer);
      if (started.length && !a.flags['keep-infra']) {
        note(`stopping what the demo started: ${started.map((s) => s.name).join(', ')}`);
        await down(started, cfg);
      }
    };

    /** `millrace ingest` of the synthetic market at the demo's rate, with `extra` flags. */
    const synthetic = (seed: number, extra: string[]) => [
      'ingest',
      '--source',
      'synthetic',
      '--symbols',
      String(symbols),
      '--rate',
      String(rate),
      '--seed',
      String(seed),
      '--quiet',
      ...extra,
    ];
    // Ingest: a three-minute synthetic backfill first, so windows close right away. It
    // starts after the clock the app committed, if an earlier run left one: trades behind
    // it would all be late (dead-lettered) and no window would close for a minute or more.
    const now = Date.now();
    const committed = live
      ? undefined
      : await withAdmin(ep.kafkaBrokers, 'millrace-demo', (admin) =>
          committedStreamTime(admin, APP_ID, [TOPICS.raw]),
        );
    const backfillStart = backfillStartOf(now, committed);
    if (committed !== undefined && backfillStart === committed + 1000)
      note(
        `the last run's clock is at ${new Date(committed).toISOString()}: the backfill starts after it`,
      );
    if (!live && backfillStart < now) {
      const frames = Math.ceil(((now - backfillStart) * rate) / 1000 / 1.9);
      note(`backfilling ${Math.round((now - backfillStart) / 1000)} s of synthetic trades…`);
      const bf = start(
        'backfill',
        synthetic(1, ['--start', String(backfillStart), '--count', String(frames), '--max-speed']),
        env,
        logs,
      );
      procs.push(bf);
      if ((await bf.exited) !== 0) {
        note(`the backfill failed: ${bf.lastLine}`);
        await stopAll();
        return EXIT.external;
      }
    }
    const ingest = start(
      'ingest',
      live ? ['ingest', '--source', 'finnhub', '--quiet'] : synthetic(2, []),
      env,
      logs,
    );
    const runs = [1, 2].map((i) =>
      start(
        `instance-${i}`,
        [
          'run',
          finnhubVwapApp,
          '--app-id',
          APP_ID,
          '--metrics-port',
          String(9463 + i),
          '--state-dir',
          stateDir(i),
        ],
        env,
        logs,
      ),
    );
    const sink = start('sink', ['sink', '--duckdb', duckdb, '--metrics-port', '9466'], env, logs);
    procs.push(ingest, ...runs, sink);

    const latest = new Map<string, VwapWindow>();
    let windows = 0;
    const s = await serdes(ep.registryUrl);
    const stopTail = await tailTopics({
      brokers: ep.kafkaBrokers,
      topics: [TOPICS.vwap],
      clientId: 'millrace-demo',
      onRecord: (r) => {
        if (!r.value) return;
        const w = s[SERDES.vwap].deserialize(r.value) as VwapWindow;
        windows++;
        const prev = latest.get(w.symbol);
        if (!prev || prev.window_start <= w.window_start) latest.set(w.symbol, w);
      },
    });
    const app = appTopics(topology(), APP_ID);
    let lastCommitted = 0;
    let lastAt = Date.now();
    let rows = 0;

    let tableAt = 0; // when piped output last got the whole table
    const draw = async () => {
      const st = await withAdmin(ep.kafkaBrokers, 'millrace-demo', (admin) =>
        fetchStatus(admin, app),
      ).catch(() => undefined);
      const committed = st?.partitions.reduce((n, p) => n + (p.committed ?? 0), 0) ?? lastCommitted;
      const t = Date.now();
      const msgsPerS = ((committed - lastCommitted) * 1000) / Math.max(1, t - lastAt);
      lastCommitted = committed;
      lastAt = t;
      const written = await metric(
        'http://127.0.0.1:9466/metrics',
        'millrace_sink_rows_written_total',
      );
      const wrate = Number.isNaN(written) ? 0 : ((written - rows) * 1000) / 2000;
      if (!Number.isNaN(written)) rows = written;
      const out: string[] = [];
      out.push(
        `millrace demo — ${live ? 'Finnhub live' : `synthetic, ${symbols} symbols at ${rate} trades/s`} · ` +
          `2 instances (${st?.members.length ?? '?'} in the group, ${st?.groupState ?? '?'}) · DuckDB ${duckdb}`,
      );
      out.push(
        `input ${Math.round(msgsPerS)} msg/s · lag ${st?.totalLag ?? '?'} · sink ${Math.round(wrate)} rows/s, ${rows} rows written · ${windows} windows emitted`,
      );
      out.push('');
      out.push(
        'symbol'.padEnd(18) +
          'window (UTC)'.padEnd(14) +
          'vwap'.padStart(12) +
          'volume'.padStart(12) +
          'trades'.padStart(8) +
          'open'.padStart(11) +
          'high'.padStart(11) +
          'low'.padStart(11) +
          'close'.padStart(11),
      );
      const sorted = [...latest.values()].sort(
        (x, y) => y.volume * (y.vwap ?? 0) - x.volume * (x.vwap ?? 0),
      );
      const max = tty ? Math.max(5, (process.stdout.rows ?? 30) - 8) : 15;
      for (const w of sorted.slice(0, max)) {
        const f = (n: number | null) =>
          n === null ? '—' : n >= 1000 ? n.toFixed(2) : n.toFixed(4);
        out.push(
          w.symbol.slice(0, 17).padEnd(18) +
            new Date(w.window_start).toISOString().slice(11, 16).padEnd(14) +
            f(w.vwap).padStart(12) +
            w.volume.toFixed(2).padStart(12) +
            String(w.trade_count).padStart(8) +
            f(w.open).padStart(11) +
            f(w.high).padStart(11) +
            f(w.low).padStart(11) +
            f(w.close).padStart(11),
        );
      }
      if (!sorted.length)
        out.push('(waiting for the first window to close: end of the minute + 10 s grace)');
      if (logs.length) out.push('', ...logs.slice(-3));
      out.push('', 'Ctrl-C stops everything the demo started.');
      if (tty) process.stdout.write(`\x1b[H\x1b[2J${out.join('\n')}\n`);
      else if (sorted.length && Date.now() - tableAt >= 10_000) {
        // Piped output: the status every 2 s, the whole table every 10 s once it has rows.
        tableAt = Date.now();
        process.stdout.write(`${out.join('\n')}\n`);
      } else process.stdout.write(`${out.slice(0, 2).join(' | ')}\n`);
    };

    return new Promise<number>((resolve) => {
      const timer = setInterval(() => void draw(), 2000);
      const finish = async (code: number) => {
        if (stopping) return;
        stopping = true;
        clearInterval(timer);
        note('stopping…');
        await stopTail();
        await stopAll();
        note('stopped');
        resolve(code);
      };
      process.once('SIGINT', () => void finish(EXIT.ok));
      process.once('SIGTERM', () => void finish(EXIT.ok));
      for (const p of procs.slice(1))
        void p.exited.then((code) => {
          if (!stopping) {
            note(`${p.name} exited (${code}): ${p.lastLine.slice(0, 300)}`);
            void finish(EXIT.internal);
          }
        });
    });
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `Starts the local Kafka and schema registry when absent (and stops them on exit unless --keep-infra), then,\n` +
        `each as its own process: the ingest (Finnhub with FINNHUB_TOKEN in the environment or ./.env; otherwise the\n` +
        `synthetic market, three minutes backfilled first so windows close at once), two processing instances\n` +
        `(metrics on 9464 and 9465), and the DuckDB sink (metrics on 9466).\n\n` +
        `  --rate N        synthetic trades per second (default 500)\n` +
        `  --symbols N     synthetic symbols (default 50)\n` +
        `  --duckdb FILE   the warehouse file (default data/millrace.duckdb; open it with the DuckDB CLI afterwards)\n` +
        `  --keep-infra    leave the Kafka and registry the demo started running\n`,
    );
    return EXIT.ok;
  },
};
