/**
 * What `/readyz`, `/topology` and `/topology.json` show for a running instance, and the
 * metrics read from it at each scrape rather than pushed: consumer lag, task states,
 * records produced per topic, store entries and bytes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StreamsApp } from '../runtime/app.js';
import type { StreamThreads } from '../runtime/threads.js';
import type { PartitionLag } from '../runtime/lag.js';
import { storeDirectory } from '../runtime/observed.js';
import { queryService } from '../runtime/query/app-queries.js';
import { toSvg, type BuiltTopology } from '../topology/index.js';
import type { Metrics } from './metrics.js';
import type { InstanceStatus, InstanceView, TaskStatus } from './server.js';

/** Polls the instance's consumer lag at most once per `everyMs`; reads never wait for the broker. */
class LagPoller {
  private last: PartitionLag[] = [];
  private at = 0;
  private inFlight?: Promise<void>;

  constructor(
    private readonly app: StreamsApp,
    private readonly everyMs = 1000,
  ) {}

  /** The latest lag; starts a refresh when it is older than `everyMs`. */
  get current(): PartitionLag[] {
    void this.refresh();
    return this.last;
  }

  refresh(): Promise<void> {
    if (this.inFlight || Date.now() - this.at < this.everyMs)
      return this.inFlight ?? Promise.resolve();
    this.inFlight = this.app
      .consumerLag()
      .then((lag) => void ((this.last = lag), (this.at = Date.now())))
      .catch(() => void (this.at = Date.now()))
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }
}

/** What `/readyz`, `/topology` and `/topology.json` show for `app`; also feeds the pulled metrics. */
export function viewFor(app: StreamsApp, topology: BuiltTopology, metrics: Metrics): InstanceView {
  let svg: Promise<string> | undefined;
  const lag = new LagPoller(app);
  const queries = queryService(app);
  const rateOf = rates();
  metrics.onScrape(async () => {
    await Promise.all([lag.refresh(), storeBytes(app, metrics)]);
    pullMetrics(app, metrics, lag.current);
  });
  return {
    applicationId: app.config.applicationId,
    notReadyReason: () => app.notReadyReason(),
    topologySvg: () => (svg ??= toSvg(topology, app.config.applicationId).catch(() => '')),
    queries,
    status: (): InstanceStatus => {
      const now = Date.now();
      const lagOf = new Map(lag.current.map((l) => [`${l.topic}:${l.partition}`, l.lag]));
      const tasks = [...app.tasks.values()].map((t): TaskStatus => {
        const sub = Number(t.id.split('_')[0]);
        const partitions = (app.taskLayout?.sourcesBySubtopology.get(sub) ?? []).map((topic) => ({
          topic,
          partition: t.partition,
          lag: lagOf.get(`${topic}:${t.partition}`) ?? null,
        }));
        return taskStatus(t, partitions, rateOf(t.id, t.stats.processed, now));
      });
      return instanceStatus(app, tasks, topology, now);
    },
  };
}

/**
 * What `/readyz`, `/topology` and `/topology.json` show for an instance of several stream
 * threads: their tasks from the threads' latest snapshots (lag is each thread's own
 * metric; the pulled metrics are each thread's, merged at the scrape).
 */
export function threadsView(threads: StreamThreads, topology: BuiltTopology): InstanceView {
  let svg: Promise<string> | undefined;
  const rateOf = rates();
  return {
    applicationId: threads.config.applicationId,
    notReadyReason: () => threads.notReadyReason(),
    topologySvg: () => (svg ??= toSvg(topology, threads.config.applicationId).catch(() => '')),
    status: (): InstanceStatus => {
      const now = Date.now();
      const tasks = [...threads.tasks.values()].map((t) =>
        taskStatus(t, [], rateOf(t.id, t.stats.processed, now)),
      );
      return instanceStatus(threads, tasks, topology, now);
    },
  };
}

/** Each task's records per second, measured over at least a second between status reads. */
function rates(): (id: string, processed: number, now: number) => number {
  const last = new Map<string, { at: number; processed: number; rate: number }>();
  return (id, processed, now) => {
    const prev = last.get(id);
    if (prev && now - prev.at < 1000) return prev.rate;
    const rate = prev ? ((processed - prev.processed) * 1000) / (now - prev.at) : 0;
    last.set(id, { at: now, processed, rate });
    return rate;
  };
}

/** A task's line of the status (a task of this thread, or a sibling thread's snapshot). */
function taskStatus(
  t: {
    id: string;
    state: string;
    stats: { processed: number; restored: number; restoreRemaining: number; commits: number };
  },
  partitions: TaskStatus['partitions'],
  ratePerSecond: number,
): TaskStatus {
  return {
    id: t.id,
    state: t.state,
    partitions,
    processed: t.stats.processed,
    ratePerSecond,
    restored: t.stats.restored,
    // Running means restored (under exactly-once the offset-based count keeps the markers).
    restoreRemaining: t.state === 'running' ? 0 : t.stats.restoreRemaining,
    commits: t.stats.commits,
  };
}

/** The status of an instance (one stream thread, or several), its tasks in id order. */
function instanceStatus(
  i: {
    config: { applicationId: string; processingGuarantee: string };
    instanceId: string;
    state: string;
  },
  tasks: TaskStatus[],
  topology: BuiltTopology,
  now: number,
): InstanceStatus {
  return {
    applicationId: i.config.applicationId,
    instanceId: i.instanceId,
    state: i.state,
    guarantee: i.config.processingGuarantee,
    tasks: tasks.sort((a, b) => a.id.localeCompare(b.id)),
    topology: topology.toJSON(),
    updatedAt: new Date(now).toISOString(),
  };
}

/** Copies what the runtime keeps as plain numbers into the registry (at scrape time). */
function pullMetrics(app: StreamsApp, metrics: Metrics, lag: readonly PartitionLag[]): void {
  const id = app.config.applicationId;
  const tasks = metrics.gauge('millrace_tasks');
  tasks.reset();
  for (const t of app.tasks.values()) tasks.inc({ app: id, state: t.state });
  const lagGauge = metrics.gauge('millrace_consumer_lag_records');
  lagGauge.reset();
  for (const l of lag)
    lagGauge.set({ app: id, topic: l.topic, partition: String(l.partition) }, l.lag);
  syncProduced(app, metrics);
  storeEntries(app, metrics);
}

/** When each app's stores were last measured on disk, and which tasks it had then. */
const storeBytesAt = new WeakMap<StreamsApp, { at: number; tasks: string }>();
/** Store sizes on disk are measured at most this often, however often /metrics is scraped. */
const STORE_BYTES_EVERY_MS = 5_000;

/**
 * Bytes on disk of each LevelDB store (its directory's files), measured at a scrape and
 * kept for STORE_BYTES_EVERY_MS while the instance's tasks stay the same: a scrape every
 * 250 ms stat-ing every file of 16 stores took 0.7 % of a busy instance's CPU.
 */
async function storeBytes(app: StreamsApp, metrics: Metrics): Promise<void> {
  const c = app.config;
  if (c.storeBackend !== 'leveldb') return;
  const now = Date.now();
  const tasks = [...app.tasks.values()]
    .filter((t) => t.state !== 'closed')
    .map((t) => t.id)
    .join();
  const last = storeBytesAt.get(app);
  if (last && last.tasks === tasks && now - last.at < STORE_BYTES_EVERY_MS) return;
  storeBytesAt.set(app, { at: now, tasks });
  const found: Array<[{ app: string; task: string; store: string }, number]> = [];
  for (const t of [...app.tasks.values()]) {
    if (t.state === 'closed') continue;
    for (const s of t.engine.stores) {
      const bytes = await dirBytes(storeDirectory(c, t.id, s.name));
      if (bytes !== undefined)
        found.push([{ app: c.applicationId, task: t.id, store: s.name }, bytes]);
    }
  }
  const gauge = metrics.gauge('millrace_store_bytes');
  gauge.reset();
  for (const [labels, bytes] of found) gauge.set(labels, bytes);
}

async function dirBytes(dir: string): Promise<number | undefined> {
  try {
    let total = 0;
    for (const e of await fs.readdir(dir, { withFileTypes: true }))
      if (e.isFile())
        total += (await fs.stat(path.join(dir, e.name)).catch(() => ({ size: 0 }))).size;
    return total;
  } catch {
    return undefined; // not on disk (yet, or any more)
  }
}

/** Key-value stores' entry estimates (window stores give none). Never walks a store. */
function storeEntries(app: StreamsApp, metrics: Metrics): void {
  const entries = metrics.gauge('millrace_store_entries');
  entries.reset();
  for (const t of app.tasks.values()) {
    if (t.state === 'closed') continue;
    for (const s of t.engine.stores) {
      const store = s.store as { approximateNumEntries?: () => number };
      if (typeof store.approximateNumEntries !== 'function') continue;
      entries.set(
        { app: app.config.applicationId, task: t.id, store: s.name },
        store.approximateNumEntries(),
      );
    }
  }
}

/**
 * Records produced per task and topic, kept by each task as running totals: the counter
 * is raised by the growth since the last scrape (a task object that is new — moved
 * away and back — starts from zero again).
 */
const seenProduced = new WeakMap<object, Map<string, number>>();
function syncProduced(app: StreamsApp, metrics: Metrics): void {
  const produced = metrics.counter('millrace_records_produced_total');
  for (const t of app.tasks.values()) {
    let seen = seenProduced.get(t);
    if (!seen) seenProduced.set(t, (seen = new Map()));
    for (const [topic, n] of t.stats.produced) {
      const delta = n - (seen.get(topic) ?? 0);
      if (delta > 0) produced.inc({ app: app.config.applicationId, task: t.id, topic }, delta);
      seen.set(topic, n);
    }
  }
}
