/**
 * One instance of an app as `millrace run` builds it: the topology from its target (an app
 * folder or a topology file), the app's serdes from the registry, the metrics it reports,
 * and the StreamsApp. Shared by the main thread (one stream thread) and each stream thread
 * of `--num-stream-threads` (cli/thread-worker.ts).
 */
import { observerFor, processorMetricsFor, storeMetricsFor } from '../observability/instrument.js';
import type { Metrics } from '../observability/metrics.js';
import { processorRegistry, type ProcessorMetrics } from '../processors/index.js';
import { StreamsApp } from '../runtime/app.js';
import type { StreamsConfigInput } from '../runtime/config.js';
import type { BuiltTopology } from '../topology/index.js';
import { loadTopology, type AppModule } from './load.js';
import { withRestoreProgress } from './progress.js';

/** What an app folder's module may export besides its topology. */
export type RunAppModule = AppModule & {
  serdes?: (url: string) => Promise<Record<string, any>>;
  streamsDefaults?: Partial<StreamsConfigInput>;
};

/** The topology a target names, its module if it is an app folder, and its name. */
export async function loadTarget(
  target: string,
): Promise<{ topology: BuiltTopology; app?: RunAppModule; name: string }> {
  return loadTopology(target);
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

/** The instance of `target` (not started), reporting into `metrics`. */
export async function instanceFor(
  target: string,
  registry: string,
  config: StreamsConfigInput,
  metrics: Metrics,
): Promise<{ app: StreamsApp; topology: BuiltTopology }> {
  const { topology, app: mod } = await loadTarget(target);
  const serdes = mod?.serdes ? await mod.serdes(registry) : {};
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
  return { app, topology };
}
