/**
 * Binds a running instance to the metrics registry and the HTTP views: task-level
 * processing counts, commits (count, duration, aborts), restores, rebalances (count and
 * time from revoke to running), and a live status for `/topology.json`.
 */
import type { ThreadObserver } from '../runtime/stream-thread.js';
import type { StreamsApp } from '../runtime/app.js';
import { toSvg, type BuiltTopology } from '../topology/index.js';
import type { Metrics } from './metrics.js';
import type { InstanceStatus, InstanceView } from './server.js';

export function observerFor(metrics: Metrics, app: () => string): ThreadObserver {
  const processed = metrics.counter('millrace_records_processed_total');
  const commits = metrics.counter('millrace_commits_total');
  const commitSeconds = metrics.histogram('millrace_commit_duration_seconds');
  const aborted = metrics.counter('millrace_transactions_aborted_total');
  const restored = metrics.counter('millrace_restore_records_total');
  const remaining = metrics.gauge('millrace_restore_remaining_records');
  const rebalances = metrics.counter('millrace_rebalances_total');
  const rebalanceSeconds = metrics.histogram('millrace_rebalance_duration_seconds');
  const lastRestored = new Map<string, number>();
  let rebalanceStart = 0;
  return {
    onProcessed: (task, n) => processed.inc({ app: app(), task, processor: '(task)' }, n),
    onCommit: (task, seconds, ok) => {
      commits.inc({ app: app(), task, result: ok ? 'ok' : 'failed' });
      if (ok) commitSeconds.observe({ app: app() }, seconds);
      else aborted.inc({ app: app(), task });
    },
    onRestore: (task, store, n, left) => {
      const key = `${task}/${store}`;
      restored.inc({ app: app(), task, store }, n - (lastRestored.get(key) ?? 0));
      lastRestored.set(key, n);
      remaining.set({ app: app(), task, store }, left);
    },
    onRebalance: (phase) => {
      if (phase === 'start') {
        rebalances.inc({ app: app() });
        rebalanceStart = performance.now();
      } else if (rebalanceStart) {
        rebalanceSeconds.observe({ app: app() }, (performance.now() - rebalanceStart) / 1000);
        rebalanceStart = 0;
      }
    },
  };
}

/** What `/readyz`, `/topology` and `/topology.json` show for `app`. */
export function viewFor(app: StreamsApp, topology: BuiltTopology, metrics: Metrics): InstanceView {
  let svg: Promise<string> | undefined;
  const rates = new Map<string, { at: number; processed: number; rate: number }>();
  const tasksGauge = metrics.gauge('millrace_tasks');
  return {
    applicationId: app.config.applicationId,
    notReadyReason: () => app.notReadyReason(),
    topologySvg: () => (svg ??= toSvg(topology, app.config.applicationId).catch(() => '')),
    status: (): InstanceStatus => {
      const now = Date.now();
      const layout = app.taskLayout;
      const tasks = [...app.tasks.values()].map((t) => {
        const prev = rates.get(t.id);
        const rate =
          prev && now - prev.at >= 1000
            ? ((t.stats.processed - prev.processed) * 1000) / (now - prev.at)
            : (prev?.rate ?? 0);
        if (!prev || now - prev.at >= 1000)
          rates.set(t.id, { at: now, processed: t.stats.processed, rate });
        const [sub, part] = t.id.split('_').map(Number) as [number, number];
        const partitions = (layout?.sourcesBySubtopology.get(sub) ?? []).map((topic) => ({
          topic,
          partition: part,
          lag: null,
        }));
        return {
          id: t.id,
          state: t.state,
          partitions,
          processed: t.stats.processed,
          ratePerSecond: rate,
          restored: t.stats.restored,
          restoreRemaining: t.stats.restoreRemaining,
        };
      });
      tasksGauge.reset();
      for (const t of tasks) tasksGauge.inc({ app: app.config.applicationId, state: t.state });
      return {
        applicationId: app.config.applicationId,
        instanceId: app.instanceId,
        state: app.state,
        guarantee: app.config.processingGuarantee,
        tasks,
        topology: topology.toJSON(),
        updatedAt: new Date(now).toISOString(),
      };
    },
  };
}
