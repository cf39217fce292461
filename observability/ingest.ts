/**
 * The ingest path's counters bound to the registry. `millrace ingest` gives the result to
 * its source and TradeSink (it has the shape of connectors/finnhub's `IngestMetrics`,
 * repeated here because observability/ does not import connectors/). Labels are bounded:
 * `source` is finnhub | synthetic | replay, `type` a message kind, `reason` a rule name.
 */
import type { Metrics } from './metrics.js';

/** Every message kind `messageReceived` is given. */
const MESSAGE_KINDS = ['trade', 'ping', 'error', 'invalid'] as const;

export interface IngestMetricsBinding {
  messageReceived(kind: (typeof MESSAGE_KINDS)[number]): void;
  tradesReceived(count: number): void;
  reconnect(): void;
  deadLettered(reason: string): void;
  produced(topic: string, count: number): void;
  backpressureWait(ms: number): void;
}

/**
 * Binds the hook for `source`. Every series starts at 0 here, before the first frame (a
 * series that first appears at 1 hides that 1 from rate() and increase()): the message
 * kinds, the dead-letter `reasons` and the `topics` the producer writes to.
 */
export function ingestMetricsFor(
  metrics: Metrics,
  source: string,
  known: { reasons: readonly string[]; topics: readonly string[] },
): IngestMetricsBinding {
  const messages = metrics.counter('millrace_ingest_messages_total');
  const trades = metrics.counter('millrace_ingest_trades_total');
  const reconnects = metrics.counter('millrace_ingest_reconnects_total');
  const deadLetters = metrics.counter('millrace_ingest_dead_letters_total');
  const produced = metrics.counter('millrace_ingest_records_produced_total');
  const waits = metrics.counter('millrace_ingest_backpressure_waits_total');
  for (const type of MESSAGE_KINDS) messages.inc({ source, type }, 0);
  for (const c of [trades, reconnects, waits]) c.inc({ source }, 0);
  for (const reason of known.reasons) deadLetters.inc({ source, reason }, 0);
  for (const topic of known.topics) produced.inc({ source, topic }, 0);
  return {
    messageReceived: (type) => messages.inc({ source, type }),
    tradesReceived: (n) => trades.inc({ source }, n),
    reconnect: () => reconnects.inc({ source }),
    deadLettered: (reason) => deadLetters.inc({ source, reason }),
    produced: (topic, n) => produced.inc({ source, topic }, n),
    backpressureWait: () => waits.inc({ source }),
  };
}
