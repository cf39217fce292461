import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { IngestMetrics } from '../connectors/finnhub/metrics.js';
import { REJECT_REASONS } from '../connectors/finnhub/types.js';
import { ingestMetricsFor } from './ingest.js';
import { observerFor, processorMetricsFor, storeMetricsFor } from './instrument.js';
import { Metrics, METRICS, metricsTableMarkdown } from './metrics.js';
import { sinkMetricsFor } from './sink.js';
import { readmeTable, tableCells, withMetricsTable } from './metrics-doc.js';

const sample = (text: string, series: string) =>
  text
    .split('\n')
    .find((l) => l.startsWith(series + ' '))
    ?.split(' ')[1];

describe('metric bindings', () => {
  it("routes processors' counters to their catalogue metrics, the rest to processor events", async () => {
    const metrics = new Metrics({ processMetrics: false });
    const forTask = processorMetricsFor(metrics, () => 'vwap');
    forTask('0_1', 'dedupe').counter('duplicates_dropped', 'x').inc(3);
    forTask('0_2', 'dedupe').counter('duplicates_dropped', 'x').inc();
    forTask('0_1', 'window').counter('late_records', 'x').inc(2);
    forTask('0_1', 'window').counter('window_emits', 'x').inc(5);
    forTask('0_1', 'validate').counter('dlq_rule_price', 'x').inc();
    forTask('0_1', 'validate').counter('invalid_trades', 'x').inc(4);
    const text = await metrics.text();
    expect(sample(text, 'millrace_duplicates_dropped_total{app="vwap",processor="dedupe"}')).toBe(
      '4',
    );
    expect(sample(text, 'millrace_late_records_total{app="vwap",processor="window"}')).toBe('2');
    expect(sample(text, 'millrace_window_emits_total{app="vwap",processor="window"}')).toBe('5');
    expect(sample(text, 'millrace_dlq_records_total{app="vwap",reason="rule_price"}')).toBe('1');
    expect(
      sample(
        text,
        'millrace_processor_events_total{app="vwap",processor="validate",event="invalid_trades"}',
      ),
    ).toBe('4');
  });

  it('exports window, late, duplicate and rebalance series at 0 before their first event', async () => {
    // A series that first appears at 1 hides that 1 from rate() and increase().
    const metrics = new Metrics({ processMetrics: false });
    // As in `millrace run`: the app id is known only after the observer is made.
    let appId = '';
    const observer = observerFor(metrics, () => appId);
    appId = 'vwap';
    observer.onRebalance?.('end', []); // the first assignment
    const forTask = processorMetricsFor(metrics, () => appId);
    forTask('0_1', 'window').counter('window_emits', 'x');
    forTask('0_1', 'window').counter('late_records', 'x');
    forTask('0_1', 'dedupe').counter('duplicates_dropped', 'x');
    const text = await metrics.text();
    expect(sample(text, 'millrace_window_emits_total{app="vwap",processor="window"}')).toBe('0');
    expect(sample(text, 'millrace_late_records_total{app="vwap",processor="window"}')).toBe('0');
    expect(sample(text, 'millrace_duplicates_dropped_total{app="vwap",processor="dedupe"}')).toBe(
      '0',
    );
    expect(sample(text, 'millrace_rebalances_total{app="vwap"}')).toBe('0');
    expect(sample(text, 'millrace_rebalance_duration_seconds_count{app="vwap"}')).toBe('0');
  });

  it("exports a task's series at 0 when the task is created, before it restores or processes", async () => {
    const metrics = new Metrics({ processMetrics: false });
    const observer = observerFor(metrics, () => 'vwap');
    observer.onTaskCreated?.('0_1', {
      stores: ['dedupe-store'],
      topics: ['vwap-dedupe-store-changelog', 'vwap.dlq'],
    });
    const text = await metrics.text();
    const task = 'app="vwap",task="0_1"';
    expect(sample(text, `millrace_records_consumed_total{${task}}`)).toBe('0');
    expect(sample(text, `millrace_records_processed_total{${task}}`)).toBe('0');
    expect(sample(text, `millrace_commits_total{${task},result="ok"}`)).toBe('0');
    expect(sample(text, `millrace_commits_total{${task},result="failed"}`)).toBe('0');
    expect(sample(text, `millrace_transactions_aborted_total{${task}}`)).toBe('0');
    expect(sample(text, `millrace_restore_records_total{${task},store="dedupe-store"}`)).toBe('0');
    expect(
      sample(text, `millrace_records_produced_total{${task},topic="vwap-dedupe-store-changelog"}`),
    ).toBe('0');
    expect(sample(text, `millrace_records_produced_total{${task},topic="vwap.dlq"}`)).toBe('0');
  });

  it("exports the known dead-letter reasons with the first task, a processor's own counters from its start", async () => {
    const metrics = new Metrics({ processMetrics: false });
    observerFor(metrics, () => 'vwap').onTaskCreated?.('0_1', { stores: [], topics: [] });
    const forTask = processorMetricsFor(metrics, () => 'vwap');
    forTask('0_1', 'validate').counter('invalid_trades', 'x');
    const text = await metrics.text();
    for (const reason of ['late', 'not_a_trade_message', 'price_not_positive', 'clock_skew'])
      expect(sample(text, `millrace_dlq_records_total{app="vwap",reason="${reason}"}`)).toBe('0');
    expect(
      sample(text, 'millrace_dlq_records_total{app="vwap",reason="deserialization_error"}'),
    ).toBe('0');
    expect(
      sample(
        text,
        'millrace_processor_events_total{app="vwap",processor="validate",event="invalid_trades"}',
      ),
    ).toBe('0');
  });

  it('exports every ingest series at 0 before the first frame', async () => {
    const metrics = new Metrics({ processMetrics: false });
    ingestMetricsFor(metrics, 'synthetic', {
      reasons: REJECT_REASONS,
      topics: ['trades.raw', 'finnhub.dlq'],
    });
    const text = await metrics.text();
    for (const type of ['trade', 'ping', 'error', 'invalid'])
      expect(
        sample(text, `millrace_ingest_messages_total{source="synthetic",type="${type}"}`),
      ).toBe('0');
    for (const name of ['trades', 'reconnects', 'backpressure_waits'])
      expect(sample(text, `millrace_ingest_${name}_total{source="synthetic"}`)).toBe('0');
    for (const reason of REJECT_REASONS)
      expect(
        sample(text, `millrace_ingest_dead_letters_total{source="synthetic",reason="${reason}"}`),
      ).toBe('0');
    for (const topic of ['trades.raw', 'finnhub.dlq'])
      expect(
        sample(text, `millrace_ingest_records_produced_total{source="synthetic",topic="${topic}"}`),
      ).toBe('0');
  });

  it("exports the sink's rows, batches, latency and errors at 0 from the start", async () => {
    const metrics = new Metrics({ processMetrics: false });
    sinkMetricsFor(metrics);
    const text = await metrics.text();
    for (const table of ['trades', 'vwap_1m']) {
      expect(sample(text, `millrace_sink_rows_written_total{table="${table}"}`)).toBe('0');
      expect(sample(text, `millrace_sink_batch_rows_count{table="${table}"}`)).toBe('0');
    }
    expect(sample(text, 'millrace_e2e_latency_seconds_count{from="trade"}')).toBe('0');
    expect(sample(text, 'millrace_sink_errors_total{kind="fatal"}')).toBe('0');
  });

  it('binds the ingest hook (the shape connectors/finnhub calls)', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const m: IngestMetrics = ingestMetricsFor(metrics, 'finnhub', { reasons: [], topics: [] });
    m.messageReceived('trade');
    m.messageReceived('ping');
    m.tradesReceived(7);
    m.reconnect();
    m.deadLettered('not_json');
    m.produced('trades.raw', 7);
    m.backpressureWait(120);
    const text = await metrics.text();
    expect(sample(text, 'millrace_ingest_messages_total{source="finnhub",type="trade"}')).toBe('1');
    expect(sample(text, 'millrace_ingest_trades_total{source="finnhub"}')).toBe('7');
    expect(sample(text, 'millrace_ingest_reconnects_total{source="finnhub"}')).toBe('1');
    expect(
      sample(text, 'millrace_ingest_dead_letters_total{source="finnhub",reason="not_json"}'),
    ).toBe('1');
    expect(
      sample(text, 'millrace_ingest_records_produced_total{source="finnhub",topic="trades.raw"}'),
    ).toBe('7');
    expect(sample(text, 'millrace_ingest_backpressure_waits_total{source="finnhub"}')).toBe('1');
  });

  it('records commits, aborts, restores and the time from revoke to running', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const o = observerFor(metrics, () => 'a');
    o.onProcessed!('0_1', 5);
    o.onCommit!('0_1', 0.02, true);
    o.onCommit!('0_1', 0.5, false);
    o.onRestore!('0_1', 'counts', 100, 90);
    await new Promise((r) => setTimeout(r, 5));
    o.onRestore!('0_1', 'other', 150, 40); // task totals: 50 of them for `other`
    o.onRestore!('0_2', 'counts', 10, 2); // ends with the rebalance (markers left)
    o.onRebalance!('start', ['0_1']);
    o.onRebalance!('start', ['0_1']); // a second revoke before running: still one span
    await new Promise((r) => setTimeout(r, 20));
    o.onRebalance!('end', ['0_1']);
    o.onRebalance!('end', ['0_1']); // no span open: not observed
    const text = await metrics.text();
    expect(sample(text, 'millrace_records_consumed_total{app="a",task="0_1"}')).toBe('5');
    expect(sample(text, 'millrace_commits_total{app="a",task="0_1",result="ok"}')).toBe('1');
    expect(sample(text, 'millrace_commits_total{app="a",task="0_1",result="failed"}')).toBe('1');
    expect(sample(text, 'millrace_commit_duration_seconds_count{app="a"}')).toBe('1');
    expect(sample(text, 'millrace_transactions_aborted_total{app="a",task="0_1"}')).toBe('1');
    expect(sample(text, 'millrace_restore_records_total{app="a",task="0_1",store="counts"}')).toBe(
      '100',
    );
    expect(sample(text, 'millrace_restore_records_total{app="a",task="0_1",store="other"}')).toBe(
      '50',
    );
    expect(sample(text, 'millrace_restore_remaining_records{app="a",task="0_1"}')).toBe('0');
    expect(sample(text, 'millrace_restore_remaining_records{app="a",task="0_2"}')).toBe('0');
    expect(
      Number(sample(text, 'millrace_restore_rate_records_per_second{app="a"}')),
    ).toBeGreaterThan(0);
    expect(sample(text, 'millrace_rebalances_total{app="a"}')).toBe('2');
    expect(sample(text, 'millrace_rebalance_duration_seconds_count{app="a"}')).toBe('1');
    expect(
      Number(sample(text, 'millrace_rebalance_duration_seconds_sum{app="a"}')),
    ).toBeGreaterThan(0.015);
  });

  it('turns cache counts into a hit ratio per store across tasks', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const forTask = storeMetricsFor(metrics, () => 'a');
    expect(forTask('0_0').operation).toBeUndefined(); // no per-operation timing
    forTask('0_0').cacheAccesses!('counts', 3, 1);
    forTask('0_1').cacheAccesses!('counts', 5, 1);
    expect(sample(await metrics.text(), 'millrace_cache_hit_ratio{app="a",store="counts"}')).toBe(
      '0.8',
    );
  });

  it('runs scrape hooks before every scrape', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let n = 0;
    metrics.onScrape(() =>
      metrics.gauge('millrace_tasks').set({ app: 'a', state: 'running' }, ++n),
    );
    await metrics.text();
    expect(sample(await metrics.text(), 'millrace_tasks{app="a",state="running"}')).toBe('2');
  });
});

describe('the metrics catalogue', () => {
  it('has bounded labels and unit-suffixed names', () => {
    const unbounded = ['key', 'symbol', 'offset', 'instance_id', 'error', 'uuid'];
    for (const m of METRICS) {
      expect(m.name).toMatch(/^millrace_[a-z0-9_]+$/);
      for (const l of m.labels) expect(unbounded, `${m.name} label ${l}`).not.toContain(l);
      if (m.kind === 'counter') expect(m.name).toMatch(/_total$/);
      if (m.kind === 'histogram') expect(m.name).toMatch(/_(seconds|rows|bytes|records)$/);
    }
    expect(new Set(METRICS.map((m) => m.name)).size).toBe(METRICS.length);
  });

  it('equals the metrics table of docs/operations/metrics.md (run `npm run docs:metrics` after changing it)', () => {
    const readme = fs.readFileSync(
      new URL('../docs/operations/metrics.md', import.meta.url),
      'utf8',
    );
    expect(tableCells(readmeTable(readme))).toEqual(tableCells(metricsTableMarkdown()));
  });

  it('rewrites only the text between the markers', () => {
    const doc = withMetricsTable(
      'before\n<!-- metrics-table:start (generated by `npm run docs:metrics`) -->\nold\n<!-- metrics-table:end -->\nafter\n',
    );
    expect(doc.startsWith('before\n')).toBe(true);
    expect(doc.endsWith('<!-- metrics-table:end -->\nafter\n')).toBe(true);
    expect(doc).not.toContain('old');
    expect(tableCells(readmeTable(doc))).toHaveLength(METRICS.length + 1);
  });
});
