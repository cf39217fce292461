/**
 * `millrace sink`'s metrics, every series at 0 from the start: a series that first
 * appears with a value hides that value from rate() and increase(), so the first window
 * results written to vwap_1m, or the first fatal error, would not show.
 */
import type { Metrics } from './metrics.js';

/** The tables `millrace sink` writes to. */
const TABLES = ['trades', 'vwap_1m'] as const;
/** Why the sink dead-letters a record (apps/finnhub-vwap/sink.ts, runtime/sink-runner.ts). */
export const SINK_DEAD_LETTER_REASONS = ['deserialization_error', 'invalid_row'] as const;

export function sinkMetricsFor(metrics: Metrics) {
  const m = {
    batchRows: metrics.histogram('millrace_sink_batch_rows'),
    written: metrics.counter('millrace_sink_rows_written_total'),
    transaction: metrics.histogram('millrace_sink_transaction_duration_seconds'),
    e2e: metrics.histogram('millrace_e2e_latency_seconds'),
    errors: metrics.counter('millrace_sink_errors_total'),
    deadLetters: metrics.counter('millrace_sink_dead_letters_total'),
  };
  for (const table of TABLES) {
    m.written.inc({ table }, 0);
    m.batchRows.zero({ table });
  }
  for (const from of ['trade', 'ingest']) m.e2e.zero({ from });
  m.errors.inc({ kind: 'fatal' }, 0);
  for (const reason of SINK_DEAD_LETTER_REASONS) m.deadLetters.inc({ reason }, 0);
  return m;
}
