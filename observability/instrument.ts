/**
 * What a running instance pushes into the metrics registry: task-level consumed/processed
 * counts, commits (count, duration, aborts), restores (records, remaining, rate),
 * rebalances (count and time from revoke to running), processors' own counters and
 * latency, and the stores' cache counts. What is read instead (lag, task states, store
 * sizes, records produced) is in `view.ts`.
 */
import type { AppObserver } from '../runtime/app.js';
import {
  DEAD_LETTER_REASONS,
  type ProcessorMetrics,
  type StoreMetrics,
} from '../runtime/observed.js';
import type { Metrics } from './metrics.js';

export function observerFor(metrics: Metrics, app: () => string): AppObserver {
  const consumed = metrics.counter('millrace_records_consumed_total');
  const processed = metrics.counter('millrace_records_processed_total');
  const commits = metrics.counter('millrace_commits_total');
  const commitSeconds = metrics.histogram('millrace_commit_duration_seconds');
  const aborted = metrics.counter('millrace_transactions_aborted_total');
  const rebalances = metrics.counter('millrace_rebalances_total');
  const rebalanceSeconds = metrics.histogram('millrace_rebalance_duration_seconds');
  const produced = metrics.counter('millrace_records_produced_total');
  const deadLetters = metrics.counter('millrace_dlq_records_total');
  const restores = restoreRecorder(metrics, app);
  // Series that first appear with a value hide that value from rate() and increase():
  // the rebalance series start at 0 with the first callback (the app id is not known
  // before), so an instance's first rebalance after joining shows on the dashboard.
  let zeroed = false;
  const zeroOnce = () => {
    if (zeroed) return;
    zeroed = true;
    rebalances.inc({ app: app() }, 0);
    rebalanceSeconds.zero({ app: app() });
  };
  let rebalanceStart = 0;
  return {
    // A task's series start at 0 when it is created, before it restores or processes.
    onTaskCreated: (task, { stores, topics }) => {
      for (const counter of [consumed, processed, aborted]) counter.inc({ app: app(), task }, 0);
      for (const result of ['ok', 'failed']) commits.inc({ app: app(), task, result }, 0);
      for (const topic of topics) produced.inc({ app: app(), task, topic }, 0);
      restores.zero(task, stores);
      // The reasons the runtime and the built-in processors give (a user's own reason
      // appears with its first dead letter).
      for (const reason of DEAD_LETTER_REASONS) deadLetters.inc({ app: app(), reason }, 0);
    },
    onProcessed: (task, n) => {
      zeroOnce();
      consumed.inc({ app: app(), task }, n);
      processed.inc({ app: app(), task }, n);
    },
    onCommit: (task, seconds, ok) => {
      commits.inc({ app: app(), task, result: ok ? 'ok' : 'failed' });
      if (ok) commitSeconds.observe({ app: app() }, seconds);
      else aborted.inc({ app: app(), task });
    },
    onRestore: restores.onRestore,
    onRebalance: (phase) => {
      zeroOnce();
      if (phase === 'end') restores.finishAll();
      if (phase === 'start') {
        rebalances.inc({ app: app() });
        rebalanceStart ||= performance.now();
      } else if (rebalanceStart) {
        rebalanceSeconds.observe({ app: app() }, (performance.now() - rebalanceStart) / 1000);
        rebalanceStart = 0;
      }
    },
  };
}

/**
 * Restore progress. The hook reports the task's running totals (restored, remaining) after
 * each batch of one store, so the growth since the task's previous report is that store's
 * batch. A restore ends when the task has nothing left or when the rebalance ends (every
 * task running): under exactly-once the remaining count, taken from changelog offsets,
 * still holds the transaction markers then. The rate is from the first batch to the last.
 */
function restoreRecorder(metrics: Metrics, app: () => string) {
  const restored = metrics.counter('millrace_restore_records_total');
  const remaining = metrics.gauge('millrace_restore_remaining_records');
  const rate = metrics.gauge('millrace_restore_rate_records_per_second');
  const progress = new Map<
    string,
    { reported: number; first: number; firstAt: number; lastAt: number }
  >();
  const finish = (task: string) => {
    const p = progress.get(task);
    if (!p) return;
    progress.delete(task);
    remaining.set({ app: app(), task }, 0);
    const seconds = (p.lastAt - p.firstAt) / 1000;
    if (seconds > 0) rate.set({ app: app() }, (p.reported - p.first) / seconds);
  };
  return {
    zero: (task: string, stores: readonly string[]) => {
      for (const store of stores) restored.inc({ app: app(), task, store }, 0);
    },
    onRestore: (task: string, store: string, n: number, left: number) => {
      const now = performance.now();
      let p = progress.get(task);
      if (!p || n < p.reported)
        progress.set(task, (p = { reported: 0, first: n, firstAt: now, lastAt: now }));
      restored.inc({ app: app(), task, store }, n - p.reported);
      p.reported = n;
      p.lastAt = now;
      remaining.set({ app: app(), task }, left);
      if (left === 0) finish(task);
    },
    /** Every task is running: whatever was restoring is done. */
    finishAll: () => [...progress.keys()].forEach(finish),
  };
}

/**
 * Where processors' counters go (give it to `StreamsApp` as the adapter's
 * `processorMetrics`): the known names to their own metrics, the rest to
 * `millrace_processor_events_total`. Counter names come from code, so labels stay bounded.
 */
export function processorMetricsFor(
  metrics: Metrics,
  app: () => string,
): (taskId: string, processor: string) => ProcessorMetrics {
  const events = metrics.counter('millrace_processor_events_total');
  const named = {
    duplicates_dropped: metrics.counter('millrace_duplicates_dropped_total'),
    late_records: metrics.counter('millrace_late_records_total'),
    window_emits: metrics.counter('millrace_window_emits_total'),
  } as const;
  const dlq = metrics.counter('millrace_dlq_records_total');
  const latency = metrics.histogram('millrace_process_latency_seconds');
  return (_task, processor) => ({
    counter: (name) => {
      if (name in named) {
        const c = named[name as keyof typeof named];
        // At 0 from the processor's start (see observerFor): a window's first emits count.
        c.inc({ app: app(), processor }, 0);
        return { inc: (by = 1) => c.inc({ app: app(), processor }, by) };
      }
      if (name.startsWith('dlq_')) {
        const reason = name.slice(4);
        return { inc: (by = 1) => dlq.inc({ app: app(), reason }, by) };
      }
      events.inc({ app: app(), processor, event: name }, 0);
      return { inc: (by = 1) => events.inc({ app: app(), processor, event: name }, by) };
    },
    observe: (name, _help, value) => {
      if (name === 'process_latency_seconds') latency.observe({ app: app(), processor }, value);
    },
  });
}

/**
 * Where stores report (give it as the adapter's `storeMetrics`): the cache hit ratio per
 * store over every task of this instance since start. Operation timings are not asked
 * for, so the record path pays nothing for this; cache counts arrive once per flush.
 */
export function storeMetricsFor(
  metrics: Metrics,
  app: () => string,
): (taskId: string) => StoreMetrics {
  const ratio = metrics.gauge('millrace_cache_hit_ratio');
  const totals = new Map<string, { hits: number; misses: number }>();
  const add = (store: string, hits: number, misses: number) => {
    let t = totals.get(store);
    if (!t) totals.set(store, (t = { hits: 0, misses: 0 }));
    t.hits += hits;
    t.misses += misses;
    if (t.hits + t.misses > 0) ratio.set({ app: app(), store }, t.hits / (t.hits + t.misses));
  };
  const bound: StoreMetrics = {
    cacheAccess: (store, hit) => add(store, hit ? 1 : 0, hit ? 0 : 1),
    cacheAccesses: add,
  };
  return () => bound;
}
