/**
 * Every metric millrace exports, defined in one table (the metrics table of
 * docs/operations/metrics.md is generated from it). Names are `millrace_*` with the unit in
 * the name; labels are app, task, processor, store, topic, partition where they apply and
 * never carry unbounded values (no symbol label unless enabled).
 */
import client, {
  type Counter,
  type Gauge,
  type Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  name: string;
  kind: MetricKind;
  help: string;
  labels: readonly string[];
  buckets?: number[];
  /** Set when nothing fills the metric yet: what it waits for (shown in the docs' metrics table). */
  pending?: string;
}

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const E2E_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

/** The catalogue. Order is the docs table's order. */
export const METRICS = [
  {
    name: 'millrace_records_consumed_total',
    kind: 'counter',
    help: "Records consumed from the task's source partitions",
    labels: ['app', 'task'],
  },
  {
    name: 'millrace_records_processed_total',
    kind: 'counter',
    help: 'Records processed through the sub-topology, per task',
    labels: ['app', 'task'],
  },
  {
    name: 'millrace_records_produced_total',
    kind: 'counter',
    help: 'Records committed to output, repartition, changelog and dead-letter topics',
    labels: ['app', 'task', 'topic'],
  },
  {
    name: 'millrace_process_latency_seconds',
    kind: 'histogram',
    help: 'Time to process one record in a processor, with what it forwards downstream (1 record in 64 timed)',
    labels: ['app', 'processor'],
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'millrace_consumer_lag_records',
    kind: 'gauge',
    help: "Records between the group's committed offset and the end of the partition (polled at most once a second)",
    labels: ['app', 'topic', 'partition'],
  },
  {
    name: 'millrace_commits_total',
    kind: 'counter',
    help: 'Commits (transactions under exactly-once)',
    labels: ['app', 'task', 'result'],
  },
  {
    name: 'millrace_commit_duration_seconds',
    kind: 'histogram',
    help: 'Time to commit a task',
    labels: ['app'],
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'millrace_transactions_aborted_total',
    kind: 'counter',
    help: 'Transactions aborted or fenced',
    labels: ['app', 'task'],
  },
  {
    name: 'millrace_rebalances_total',
    kind: 'counter',
    help: 'Consumer-group rebalances seen by this instance, its first join included',
    labels: ['app'],
  },
  {
    name: 'millrace_rebalance_duration_seconds',
    kind: 'histogram',
    help: 'Time from a rebalance starting (revoke, or the first join) to all tasks running',
    labels: ['app'],
    buckets: E2E_BUCKETS,
  },
  {
    name: 'millrace_restore_records_total',
    kind: 'counter',
    help: 'Changelog records restored into stores',
    labels: ['app', 'task', 'store'],
  },
  {
    name: 'millrace_restore_remaining_records',
    kind: 'gauge',
    help: 'Changelog records the task still has to restore (0 once it runs)',
    labels: ['app', 'task'],
  },
  {
    name: 'millrace_restore_rate_records_per_second',
    kind: 'gauge',
    help: 'Restore rate of the task restore that finished last (first batch to last)',
    labels: ['app'],
  },
  {
    name: 'millrace_store_entries',
    kind: 'gauge',
    help: 'Approximate entries per key-value store that reached disk (LevelDB counts in the background, so it lags; window stores give none)',
    labels: ['app', 'task', 'store'],
  },
  {
    name: 'millrace_store_bytes',
    kind: 'gauge',
    help: 'Bytes on disk per LevelDB store (the files in its directory, read at scrape)',
    labels: ['app', 'task', 'store'],
  },
  {
    name: 'millrace_cache_hit_ratio',
    kind: 'gauge',
    help: 'Share of store reads served by the write cache, since the instance started (updated at each commit)',
    labels: ['app', 'store'],
  },
  {
    name: 'millrace_dlq_records_total',
    kind: 'counter',
    help: 'Records sent to a dead-letter topic, by reason',
    labels: ['app', 'reason'],
  },
  {
    name: 'millrace_late_records_total',
    kind: 'counter',
    help: 'Records later than window end + grace',
    labels: ['app', 'processor'],
  },
  {
    name: 'millrace_duplicates_dropped_total',
    kind: 'counter',
    help: 'Records dropped as duplicates (the processor names its dedupe key)',
    labels: ['app', 'processor'],
  },
  {
    name: 'millrace_window_emits_total',
    kind: 'counter',
    help: 'Final window results emitted',
    labels: ['app', 'processor'],
  },
  {
    name: 'millrace_processor_events_total',
    kind: 'counter',
    help: 'Other counters processors raise (e.g. invalid_trades, processing_error_skipped)',
    labels: ['app', 'processor', 'event'],
  },
  {
    name: 'millrace_sink_batch_rows',
    kind: 'histogram',
    help: 'Rows per warehouse batch',
    labels: ['sink', 'table'],
    buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
  },
  {
    name: 'millrace_sink_rows_written_total',
    kind: 'counter',
    help: 'Rows written (upserted) to the warehouse',
    labels: ['sink', 'table'],
  },
  {
    name: 'millrace_sink_transaction_duration_seconds',
    kind: 'histogram',
    help: 'Warehouse transaction time per batch',
    labels: ['sink'],
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'millrace_sink_errors_total',
    kind: 'counter',
    help: 'Warehouse errors, by kind',
    labels: ['sink', 'kind'],
  },
  {
    name: 'millrace_sink_dead_letters_total',
    kind: 'counter',
    help: 'Records the sink sent to its dead-letter topic (warehouse.dlq), by reason',
    labels: ['sink', 'reason'],
  },
  {
    name: 'millrace_e2e_latency_seconds',
    kind: 'histogram',
    help: 'From a timestamp (trade or ingest) to the row committed in the sink',
    labels: ['sink', 'from'],
    buckets: E2E_BUCKETS,
  },
  {
    name: 'millrace_ingest_messages_total',
    kind: 'counter',
    help: 'WebSocket messages received, by type',
    labels: ['source', 'type'],
  },
  {
    name: 'millrace_ingest_reconnects_total',
    kind: 'counter',
    help: 'WebSocket reconnects',
    labels: ['source'],
  },
  {
    name: 'millrace_ingest_backpressure_waits_total',
    kind: 'counter',
    help: 'Times the source waited because Kafka was slow',
    labels: ['source'],
  },
  {
    name: 'millrace_ingest_trades_total',
    kind: 'counter',
    help: 'Trades read from the source',
    labels: ['source'],
  },
  {
    name: 'millrace_ingest_dead_letters_total',
    kind: 'counter',
    help: 'Frames sent to the ingest dead-letter topic, by reason',
    labels: ['source', 'reason'],
  },
  {
    name: 'millrace_ingest_records_produced_total',
    kind: 'counter',
    help: 'Records acknowledged by Kafka (acks=all), by topic',
    labels: ['source', 'topic'],
  },
  {
    name: 'millrace_tasks',
    kind: 'gauge',
    help: 'Tasks owned by this instance, by state',
    labels: ['app', 'state'],
  },
] as const satisfies readonly MetricDef[];

export type MetricName = (typeof METRICS)[number]['name'];

/** A registry with every millrace metric plus Node's process metrics. */
export class Metrics {
  readonly registry: Registry;
  private readonly byName = new Map<string, Counter | Gauge | Histogram>();
  private readonly scrapeHooks: Array<() => Promise<void> | void> = [];
  private readonly sources: Array<() => Promise<MetricObjectWithValues<MetricValue<string>>[][]>> =
    [];

  constructor(opts: { defaultLabels?: Record<string, string>; processMetrics?: boolean } = {}) {
    this.registry = new client.Registry();
    if (opts.defaultLabels) this.registry.setDefaultLabels(opts.defaultLabels);
    if (opts.processMetrics !== false)
      client.collectDefaultMetrics({ register: this.registry, prefix: 'millrace_node_' });
    for (const def of METRICS as readonly MetricDef[]) this.byName.set(def.name, this.create(def));
  }

  private create(def: MetricDef) {
    const common = {
      name: def.name,
      help: def.help,
      labelNames: [...def.labels],
      registers: [this.registry],
    };
    if (def.kind === 'counter') return new client.Counter(common);
    if (def.kind === 'gauge') return new client.Gauge(common);
    return new client.Histogram({ ...common, buckets: def.buckets });
  }

  counter(name: MetricName): Counter {
    return this.byName.get(name) as Counter;
  }

  gauge(name: MetricName): Gauge {
    return this.byName.get(name) as Gauge;
  }

  histogram(name: MetricName): Histogram {
    return this.byName.get(name) as Histogram;
  }

  /** Runs `hook` before every scrape (to copy values that are read, not pushed: lag, task states). */
  onScrape(hook: () => Promise<void> | void): void {
    this.scrapeHooks.push(hook);
  }

  /**
   * Adds the metrics of another registry to every scrape (a stream thread's, in a worker:
   * its `json()`); series are merged by name and labels.
   */
  addSource(source: () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>): void {
    this.sources.push(source);
  }

  /** The registry's metrics as JSON, the scrape hooks run first (for another registry's addSource). */
  async json(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    await Promise.all(this.scrapeHooks.map(async (h) => h()));
    return this.registry.getMetricsAsJSON();
  }

  async text(): Promise<string> {
    if (!this.sources.length) {
      await Promise.all(this.scrapeHooks.map(async (h) => h()));
      return this.registry.metrics();
    }
    const parts = await Promise.all([
      this.json().then((own) => [own]),
      ...this.sources.map((s) => s().catch(() => [])),
    ]);
    return client.AggregatorRegistry.aggregate(parts.flat()).metrics();
  }
}

/** The docs' metrics table (docs/operations/metrics.md), generated from the catalogue. */
export function metricsTableMarkdown(): string {
  const rows = (METRICS as readonly MetricDef[]).map((m) => {
    const what = m.pending ? `${m.help}. _Not filled yet: needs ${m.pending}._` : m.help;
    return `| \`${m.name}\` | ${m.kind} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${what} |`;
  });
  return ['| metric | type | labels | what |', '|---|---|---|---|', ...rows].join('\n');
}

/**
 * The sum of the samples of `name` in Prometheus text whose labels contain `filter`
 * (for scripts that read another process's /metrics: the demo, the benchmarks).
 */
export function sumSamples(text: string, name: string, filter = ''): number {
  let n = 0;
  for (const line of text.split('\n'))
    if ((line.startsWith(`${name} `) || line.startsWith(`${name}{`)) && line.includes(filter))
      n += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  return n;
}
