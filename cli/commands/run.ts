import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metrics } from '../../observability/metrics.js';
import { threadsView, viewFor } from '../../observability/view.js';
import { startServer, type InstanceView, type RunningServer } from '../../observability/server.js';
import type { StreamsApp } from '../../runtime/app.js';
import {
  configFromEnv,
  configFromFile,
  resolveConfig,
  type StreamsConfigInput,
} from '../../runtime/config.js';
import { advertisedEndpoint, relayedQueries } from '../../runtime/query/http.js';
import { closeOnSignals } from '../../runtime/signals.js';
import { StreamThreads } from '../../runtime/threads.js';
import { parseArgs } from '../args.js';
import { EXIT } from '../errors.js';
import { instanceFor, loadTarget } from '../instance.js';
import type { RunThreadArgs } from '../thread-worker.js';
import type { Command } from '../command.js';
import type { BuiltTopology } from '../../topology/index.js';

/** What `run` starts: one StreamsApp, or the stream threads of one instance. */
type Instance = Pick<StreamsApp | StreamThreads, 'start' | 'close' | 'onFailure' | 'instanceId'> & {
  config: { applicationId: string };
};

/** cli/thread-worker.{ts,js}, beside this command's folder. */
function threadWorkerModule(): string {
  const ext = path.extname(fileURLToPath(import.meta.url));
  return new URL(`../thread-worker${ext}`, import.meta.url).href;
}

const say = (o: object) =>
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...o }) + '\n');

/**
 * The streams config of `millrace run`, each layer over the one before: the app's own
 * defaults (the app's defaults are defaults, not code: a user's settings win), the
 * `--config` file, MILLRACE_* variables, flags. The application id, brokers and state
 * directory come from the file, a variable or a flag, else the app's name,
 * 127.0.0.1:9092 and .millrace/state.
 */
export function runConfig(
  flags: Record<string, unknown>,
  appDefaults: Partial<StreamsConfigInput> | undefined,
  appId: string,
  env: NodeJS.ProcessEnv = process.env,
): StreamsConfigInput {
  const flag = (name: string) => (typeof flags[name] === 'string' ? flags[name] : undefined);
  const fromFlags = {
    applicationId: flag('app-id'),
    bootstrapServers: flag('brokers'),
    stateDir: flag('state-dir'),
    processingGuarantee: flag('guarantee') as StreamsConfigInput['processingGuarantee'],
    numStreamThreads:
      flag('num-stream-threads') === undefined ? undefined : Number(flag('num-stream-threads')),
  };
  return {
    ...(appDefaults ?? {}),
    applicationId: appId,
    bootstrapServers: '127.0.0.1:9092',
    stateDir: path.join('.millrace', 'state'),
    ...(flag('config') ? configFromFile(flag('config')!) : {}),
    ...configFromEnv(env),
    ...Object.fromEntries(Object.entries(fromFlags).filter(([, v]) => v !== undefined)),
  };
}

export { zeroDeclaredCounters } from '../instance.js';

const RUN_FLAGS = [
  'config',
  'app-id',
  'brokers',
  'guarantee',
  'state-dir',
  'registry',
  'metrics-port',
  'metrics-host',
  'num-stream-threads',
];

/** One StreamsApp, or `threads` workers each building it, with what the server shows of it. */
async function startable(
  loaded: { target: string; topology: BuiltTopology; registry: string },
  config: StreamsConfigInput,
  metrics: Metrics,
  host: string,
): Promise<{ instance: Instance; view: InstanceView; threads: number; app?: StreamsApp }> {
  const { target, topology, registry } = loaded;
  const threads = resolveConfig(config).numStreamThreads;
  if (threads === 1) {
    const built = await instanceFor(target, registry, config, metrics);
    const view = viewFor(built.app, topology, metrics);
    return { instance: built.app, view, threads, app: built.app };
  }
  // Each stream thread a worker building the same instance (cli/thread-worker.ts); their
  // metrics are merged into this thread's at each scrape, and /stores goes to a thread's
  // query server.
  const pool = new StreamThreads(
    {
      module: threadWorkerModule(),
      args: { target, registry, queryHost: host } satisfies RunThreadArgs,
    },
    config,
  );
  metrics.addSource(() => pool.request('metrics') as Promise<any>);
  // Thread 0's query server, asked for once (it keeps its port while the thread runs).
  let relayTo: Promise<string> | undefined;
  const queries = relayedQueries(() => {
    if (!relayTo) {
      relayTo = pool.request('queryUrl').then((urls) => {
        if (typeof urls[0] !== 'string') throw new Error('no stream thread is running');
        return urls[0];
      });
      relayTo.catch(() => (relayTo = undefined)); // asked again next time
    }
    return relayTo;
  });
  return { instance: pool, view: { ...threadsView(pool, topology), queries }, threads };
}

/** Resolves with the exit code: 0 once a signal stopped the instance, 1 if it failed. */
function untilStopped(instance: Instance, server: RunningServer): Promise<number> {
  return new Promise<number>((resolve) => {
    instance.onFailure((err) => {
      say({ event: 'failed', error: (err as Error).message });
      void server.close().then(() => resolve(EXIT.internal));
    });
    closeOnSignals(instance, {
      onClosed: () => void server.close().then(() => (say({ event: 'stopped' }), resolve(EXIT.ok))),
      log: (msg) => say({ event: 'signal', msg }),
    });
  });
}

async function runApp(target: string, flags: Record<string, string | true>): Promise<number> {
  const { topology, app: mod, name } = await loadTarget(target);
  const registry =
    (flags.registry as string | undefined) ??
    process.env.MILLRACE_REGISTRY_URL ??
    'http://127.0.0.1:8081/apis/ccompat/v7';
  const config = runConfig(flags, mod?.streamsDefaults, mod?.applicationId ?? name);
  const metrics = new Metrics();
  const loaded = { target, topology, registry };
  const host = (flags['metrics-host'] as string | undefined) ?? '127.0.0.1';
  const { instance, view, threads, app } = await startable(loaded, config, metrics, host);
  const server = await startServer(metrics, view, {
    port: Number(flags['metrics-port'] ?? process.env.MILLRACE_METRICS_PORT ?? 9464),
    host,
  });
  // Interactive queries: the group learns where this instance answers (each of several
  // stream threads advertises its own server, cli/thread-worker.ts).
  app?.advertise(advertisedEndpoint(host, server.port));
  const done = untilStopped(instance, server);
  await instance.start().catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  say({
    event: 'started',
    app: instance.config.applicationId,
    instance: instance.instanceId,
    ...(threads > 1 ? { streamThreads: threads } : {}),
    metrics: `${server.url}/metrics`,
    status: `${server.url}/topology`,
    queries: app ? `http://${app.queryEndpoint}/stores` : `${server.url}/stores`,
  });
  return done;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run one instance of an app (start more, with the same app id, to scale out)',
  usage:
    'millrace run <topology.yaml | app.ts | app folder> [--config millrace.yaml] [--app-id ID] [--brokers H:P,…] [--guarantee exactly_once|at_least_once] [--state-dir DIR] [--registry URL] [--metrics-port N] [--metrics-host H] [--num-stream-threads N]',
  async run(argv) {
    const a = parseArgs(argv, { values: RUN_FLAGS });
    if (a.flags.help || a.positionals.length !== 1) return this.help();
    return runApp(a.positionals[0]!, a.flags);
  },
  help() {
    process.stdout.write(
      `${this.usage}\n\n${this.summary}.\n\n` +
        `  --config FILE      streams settings (YAML or JSON, names as in code: commitInterval: 500ms); over the\n` +
        `                     app's defaults, under MILLRACE_* variables and flags; an unknown setting is an error\n` +
        `  --app-id ID        consumer group and internal-topic prefix (default: the app's)\n` +
        `  --brokers LIST     Kafka bootstrap servers (default MILLRACE_BOOTSTRAP_SERVERS or 127.0.0.1:9092)\n` +
        `  --guarantee G      exactly_once or at_least_once (default: the app's, else at_least_once)\n` +
        `  --state-dir DIR    local state (default .millrace/state)\n` +
        `  --registry URL     schema registry (default MILLRACE_REGISTRY_URL or http://127.0.0.1:8081/apis/ccompat/v7)\n` +
        `  --metrics-port N   /metrics, /healthz, /readyz, /topology, and queries of the stores under /stores\n` +
        `                     (default 9464; 0 picks a free port); advertised to the group as where this instance\n` +
        `                     answers queries, unless MILLRACE_APPLICATION_SERVER (host:port) says otherwise\n` +
        `  --metrics-host H   bind address (default 127.0.0.1; 0.0.0.0 exposes it)\n` +
        `  --num-stream-threads N  stream threads, each a worker with its own consumer (default 1; with more than\n` +
        `                     one, each thread also serves queries on a free port of its own, advertised to the group)\n` +
        `Other settings come from MILLRACE_* variables (docs/guide/running-and-scaling.md lists them). SIGTERM/SIGINT: commit and stop; twice: exit at once.\n`,
    );
    return EXIT.ok;
  },
};
