/**
 * The ingest path's counters bound to the registry. `millrace ingest` gives the result to
 * its source and TradeSink (it has the shape of connectors/finnhub's `IngestMetrics`,
 * repeated here because observability/ does not import connectors/). Labels are bounded:
 * `source` is finnhub | synthetic | replay, `type` a message kind, `reason` a rule name.
 */
import type { Metrics } from './metrics.js';

export interface IngestMetricsBinding {
  messageReceived(kind: 'trade' | 'ping' | 'error' | 'invalid'): void;
  tradesReceived(count: number): void;
  reconnect(): void;
  deadLettered(reason: string): void;
  produced(topic: string, count: number): void;
  backpressureWait(ms: number): void;
}

export function ingestMetricsFor(metrics: Metrics, source: string): IngestMetricsBinding {
  const messages = metrics.counter('millrace_ingest_messages_total');
  const trades = metrics.counter('millrace_ingest_trades_total');
  const reconnects = metrics.counter('millrace_ingest_reconnects_total');
  const deadLetters = metrics.counter('millrace_ingest_dead_letters_total');
  const produced = metrics.counter('millrace_ingest_records_produced_total');
  const waits = metrics.counter('millrace_ingest_backpressure_waits_total');
  return {
    messageReceived: (type) => messages.inc({ source, type }),
    tradesReceived: (n) => trades.inc({ source }, n),
    reconnect: () => reconnects.inc({ source }),
    deadLettered: (reason) => deadLetters.inc({ source, reason }),
    produced: (topic, n) => produced.inc({ source, topic }, n),
    backpressureWait: () => waits.inc({ source }),
  };
}
