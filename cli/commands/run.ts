import path from 'node:path';
import { Metrics } from '../../observability/metrics.js';
import {
  observerFor,
  processorMetricsFor,
  storeMetricsFor,
} from '../../observability/instrument.js';
import { viewFor } from '../../observability/view.js';
import { startServer } from '../../observability/server.js';
import { StreamsApp } from '../../runtime/app.js';
import { processorRegistry, type ProcessorMetrics } from '../../processors/index.js';
import type { BuiltTopology } from '../../topology/index.js';
import { configFromEnv, configFromFile, type StreamsConfigInput } from '../../runtime/config.js';
import { closeOnSignals } from '../../runtime/signals.js';
import { parseArgs } from '../args.js';
import { withRestoreProgress } from '../progress.js';
import { EXIT } from '../errors.js';
import { loadTopology } from '../load.js';
import type { Command } from '../command.js';

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

/**
 * Starts at 0, before the instance joins, the counters each processor type declares
 * (`counters` in its definition): a window closed by a task that just moved here still
 * shows on the dashboard as a step (a series that first appears with a value hides it
 * from rate() and increase()).
 */
export function zeroDeclaredCounters(
  topology: BuiltTopology,
  processorMetrics: (task: string, processor: string) => ProcessorMetrics,
): void {
  for (const node of topology.spec.nodes)
    if (node.kind === 'processor')
      for (const counter of processorRegistry.definition(node.type)?.counters ?? [])
        processorMetrics('', node.name).counter(counter, '');
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run one instance of an app (start more, with the same app id, to scale out)',
  usage:
    'millrace run <topology.yaml | app.ts | app folder> [--config millrace.yaml] [--app-id ID] [--brokers H:P,…] [--guarantee exactly_once|at_least_once] [--state-dir DIR] [--registry URL] [--metrics-port N] [--metrics-host H]',
  async run(argv) {
    const a = parseArgs(argv, {
      values: [
        'config',
        'app-id',
        'brokers',
        'guarantee',
        'state-dir',
        'registry',
        'metrics-port',
        'metrics-host',
      ],
    });
    if (a.flags.help || a.positionals.length !== 1) return this.help();
    const { topology, app: mod, name } = await loadTopology(a.positionals[0]!);
    const registry =
      (a.flags.registry as string | undefined) ??
      process.env.MILLRACE_REGISTRY_URL ??
      'http://127.0.0.1:8081/apis/ccompat/v7';
    const m = mod as
      | {
          serdes?: (url: string) => Promise<Record<string, any>>;
          streamsDefaults?: Partial<StreamsConfigInput>;
        }
      | undefined;
    const serdes = m?.serdes ? await m.serdes(registry) : {};
    const config = runConfig(a.flags, m?.streamsDefaults, mod?.applicationId ?? name);
    const metrics = new Metrics();
    let appId = '';
    const processorMetrics = processorMetricsFor(metrics, () => appId);
    const app = new StreamsApp(
      topology,
      config,
      withRestoreProgress(observerFor(metrics, () => appId)),
      {
        serdes,
        processorMetrics,
        storeMetrics: storeMetricsFor(metrics, () => appId),
      },
    );
    appId = app.config.applicationId;
    zeroDeclaredCounters(topology, processorMetrics);
    const server = await startServer(metrics, viewFor(app, topology, metrics), {
      port: Number(a.flags['metrics-port'] ?? process.env.MILLRACE_METRICS_PORT ?? 9464),
      host: (a.flags['metrics-host'] as string | undefined) ?? '127.0.0.1',
    });
    const done = new Promise<number>((resolve) => {
      app.onFailure((err) => {
        say({ event: 'failed', error: (err as Error).message });
        void server.close().then(() => resolve(EXIT.internal));
      });
      closeOnSignals(app, {
        onClosed: () =>
          void server.close().then(() => (say({ event: 'stopped' }), resolve(EXIT.ok))),
        log: (msg) => say({ event: 'signal', msg }),
      });
    });
    await app.start();
    say({
      event: 'started',
      app: appId,
      instance: app.instanceId,
      metrics: `${server.url}/metrics`,
      status: `${server.url}/topology`,
    });
    return done;
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
        `  --metrics-port N   /metrics, /healthz, /readyz, /topology (default 9464; 0 picks a free port)\n` +
        `  --metrics-host H   bind address (default 127.0.0.1; 0.0.0.0 exposes it)\n` +
        `Other settings come from MILLRACE_* variables (docs/guide/running-and-scaling.md lists them). SIGTERM/SIGINT: commit and stop; twice: exit at once.\n`,
    );
    return EXIT.ok;
  },
};
