/**
 * What `millrace sink` says and counts: one JSON line per event on stdout (`started`,
 * `batch`, `failed`, `signal`, `stopped`), and each batch in the sink's Prometheus metrics.
 */
import type { Metrics } from '../../observability/metrics.js';
import { sinkMetricsFor } from '../../observability/sink.js';
import type { SinkBatchInfo } from '../../apps/finnhub-vwap/sink.js';

/** One JSON line on stdout, stamped with the time. */
export const say = (o: object) =>
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...o }) + '\n');

export class SinkReport {
  private readonly m: ReturnType<typeof sinkMetricsFor>;

  constructor(metrics: Metrics) {
    this.m = sinkMetricsFor(metrics);
  }

  /** A batch committed in the warehouse: its rows per table, its time, its trades' ages. */
  batch(b: SinkBatchInfo): void {
    const now = Date.now();
    this.m.transaction.observe(b.seconds);
    for (const [table, n] of Object.entries(b.tables)) {
      this.m.batchRows.observe({ table }, n);
      this.m.written.inc({ table }, n);
    }
    for (const t of b.tradeTimestamps) this.m.e2e.observe({ from: 'trade' }, (now - t) / 1000);
    for (const t of b.ingestTimestamps) this.m.e2e.observe({ from: 'ingest' }, (now - t) / 1000);
    say({ event: 'batch', rows: b.rows, tables: b.tables, ms: Math.round(b.seconds * 1000) });
  }

  /** A record sent to the dead-letter topic. */
  deadLetter(d: { reason: string; source: string }): void {
    this.m.deadLetters.inc({ reason: d.reason });
    say({ event: 'dead_letter', reason: d.reason, source: d.source });
  }

  /** The sink failed for good. */
  failed(error: string): void {
    this.m.errors.inc({ kind: 'fatal' });
    say({ event: 'failed', error });
  }
}
