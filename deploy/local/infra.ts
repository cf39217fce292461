/**
 * The local stack without Docker: `up`, `down`, `status`.
 *
 *   npm run infra:up                 # Kafka (1 node), schema registry, Snowflake emulator
 *   npm run infra:up -- --brokers 3  # a three-node Kafka cluster instead (RF 3, min ISR 2)
 *   npm run infra:up -- --only kafka,registry
 *   npm run infra:down               # stops exactly the pids that `up` recorded
 *   npm run infra:status
 *
 * For programs that start the stack as a child process (`millrace demo`): `up --json`
 * ends with one JSON line, `{"started":[names],"kafkaBrokers":[…],"registryUrl":…}`, and
 * `down --names a,b` stops only the named entries (those that `up` said it started).
 *
 * Logs: <runDir>/**.log; setup log (downloads): <runDir>/setup.log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { endpoints, loadConfig, type InfraConfig } from './config.js';
import { snowflakeUp } from './fakesnow.js';
import { kafkaUp } from './kafka.js';
import { InfraError, isAlive, stopPid } from './proc.js';
import { registryUp } from './registry.js';
import { forgetService, readState, type ServiceEntry } from './state.js';

export type Service = 'kafka' | 'registry' | 'snowflake';
export const ALL_SERVICES: Service[] = ['kafka', 'registry', 'snowflake'];

export interface UpOptions {
  services?: Service[];
  brokers?: 1 | 3;
  /** Called with one line per step (default: silent). */
  progress?: (line: string) => void;
}

/** Starts what is absent and returns what this call started (to be stopped by `down`). */
export async function up(
  opts: UpOptions = {},
  cfg: InfraConfig = loadConfig(),
): Promise<ServiceEntry[]> {
  const services = opts.services ?? ALL_SERVICES;
  const say = opts.progress ?? (() => {});
  fs.mkdirSync(cfg.runDir, { recursive: true });
  const log = path.join(cfg.runDir, 'setup.log');
  const started: ServiceEntry[] = [];
  // The JVMs start in parallel; each waits for its own readiness.
  const tasks: Promise<ServiceEntry[]>[] = [];
  if (services.includes('kafka'))
    tasks.push(timed('kafka', say, () => kafkaUp(cfg, opts.brokers ?? 1, log)));
  if (services.includes('registry'))
    tasks.push(timed('schema registry', say, () => registryUp(cfg, log)));
  if (services.includes('snowflake'))
    tasks.push(timed('snowflake emulator', say, () => snowflakeUp(cfg, log)));
  const results = await Promise.allSettled(tasks);
  for (const r of results) if (r.status === 'fulfilled') started.push(...r.value);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await down(started, cfg);
    throw failed.reason;
  }
  return started;
}

async function timed<T extends ServiceEntry[]>(
  what: string,
  say: (l: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const t0 = Date.now();
  const r = await fn();
  say(
    `${what}: ${r.length ? `started in ${((Date.now() - t0) / 1000).toFixed(1)}s` : 'already running, reused'}`,
  );
  return r;
}

/** Stops the given entries, or every service recorded in the state file. Only by pid. */
export async function down(
  entries?: ServiceEntry[],
  cfg: InfraConfig = loadConfig(),
): Promise<ServiceEntry[]> {
  const targets = entries ?? Object.values(readState(cfg.runDir).services);
  await Promise.all(targets.map((e) => stopPid(e.pid)));
  for (const e of targets) forgetService(cfg.runDir, e.name);
  return targets;
}

export function status(cfg: InfraConfig = loadConfig()): Array<ServiceEntry & { alive: boolean }> {
  return Object.values(readState(cfg.runDir).services).map((e) => ({
    ...e,
    alive: isAlive(e.pid),
  }));
}

interface CliOptions extends UpOptions {
  json?: boolean;
  names?: string[];
}

function parseArgs(argv: string[]): CliOptions {
  const opts: CliOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opts.json = true;
    else if (a === '--names') opts.names = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--brokers') {
      const n = Number(argv[++i]);
      if (n !== 1 && n !== 3) throw new InfraError('--brokers takes 1 or 3');
      opts.brokers = n;
    } else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean) as Service[];
      const bad = list.filter((s) => !ALL_SERVICES.includes(s));
      if (bad.length)
        throw new InfraError(
          `--only: unknown service ${bad.join(',')}; use ${ALL_SERVICES.join(',')}`,
        );
      opts.services = list;
    } else {
      throw new InfraError(
        `unknown option ${a}; options: --brokers 1|3, --only ${ALL_SERVICES.join(',')}, --json (up), --names a,b (down)`,
      );
    }
  }
  return opts;
}

async function cliUp(cfg: InfraConfig, opts: CliOptions): Promise<void> {
  const t0 = Date.now();
  const started = await up({ ...opts, progress: (l) => console.log(`infra: ${l}`) }, cfg);
  const ep = endpoints(cfg, opts.brokers ?? 1);
  console.log(
    `infra: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s — kafka ${ep.kafkaBrokers.join(',')}, registry ${ep.registryUrl}, ` +
      `snowflake (for snowflake-sdk) http://${ep.snowflakeGateway.host}:${ep.snowflakeGateway.port}, fakesnow itself on ${ep.snowflake.port}`,
  );
  if (opts.json)
    console.log(
      JSON.stringify({
        started: started.map((e) => e.name),
        kafkaBrokers: ep.kafkaBrokers,
        registryUrl: ep.registryUrl,
      }),
    );
}

async function main(cmd: string | undefined, argv: string[]): Promise<void> {
  const cfg = loadConfig();
  if (cmd === 'up') {
    await cliUp(cfg, parseArgs(argv));
  } else if (cmd === 'down') {
    const { names } = parseArgs(argv);
    const recorded = Object.values(readState(cfg.runDir).services);
    const stopped = await down(
      names ? recorded.filter((e) => names.includes(e.name)) : undefined,
      cfg,
    );
    console.log(
      stopped.length
        ? `infra: stopped ${stopped.map((e) => `${e.name} (pid ${e.pid})`).join(', ')}`
        : 'infra: nothing of ours was running',
    );
  } else if (cmd === 'status') {
    const rows = status(cfg);
    if (!rows.length) console.log('infra: nothing of ours is running');
    for (const r of rows)
      console.log(
        `${r.name.padEnd(18)} pid ${String(r.pid).padEnd(8)} port ${r.port}  ${r.alive ? 'up' : 'dead'}  log ${r.logFile}`,
      );
  } else {
    console.log(
      'usage: infra.ts up [--brokers 1|3] [--only kafka,registry,snowflake] [--json] | down [--names a,b] | status',
    );
    process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2], process.argv.slice(3)).catch((err: unknown) => {
    console.error(`infra: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = err instanceof InfraError ? 3 : 1;
  });
}
