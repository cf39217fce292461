/**
 * The ingest path's counters, as a hook: the connector calls these; whoever runs it binds
 * them (to prom-client in observability/, to the CLI's live line, to a test). No metrics
 * library is imported here.
 */

/** What a received message turned out to be. `invalid`: went to the dead-letter topic. */
export type MessageKind = 'trade' | 'ping' | 'error' | 'invalid';

export interface IngestMetrics {
  /** One frame read from a source, by kind. */
  messageReceived(kind: MessageKind): void;
  /** Trades (entries of trade frames) read. */
  tradesReceived(count: number): void;
  /** The WebSocket connection was re-established after a drop. */
  reconnect(): void;
  /** A frame went to the dead-letter topic, by reason (`not_json`, `unknown_type`, …). */
  deadLettered(reason: string): void;
  /** Records acknowledged by Kafka (acks=all), by topic. */
  produced(topic: string, count: number): void;
  /** A source waited `ms` for room in the producer's bounded queue (backpressure). */
  backpressureWait(ms: number): void;
}

/** Counts nothing. */
export const noopMetrics: IngestMetrics = {
  messageReceived() {},
  tradesReceived() {},
  reconnect() {},
  deadLettered() {},
  produced() {},
  backpressureWait() {},
};

/** Keeps every counter in memory (the CLI's live line, tests). */
export class CountingMetrics implements IngestMetrics {
  readonly messages: Record<MessageKind, number> = { trade: 0, ping: 0, error: 0, invalid: 0 };
  readonly deadLetters = new Map<string, number>();
  readonly producedByTopic = new Map<string, number>();
  trades = 0;
  reconnects = 0;
  backpressureWaits = 0;
  backpressureMs = 0;

  messageReceived(kind: MessageKind): void {
    this.messages[kind]++;
  }
  tradesReceived(count: number): void {
    this.trades += count;
  }
  reconnect(): void {
    this.reconnects++;
  }
  deadLettered(reason: string): void {
    this.deadLetters.set(reason, (this.deadLetters.get(reason) ?? 0) + 1);
  }
  produced(topic: string, count: number): void {
    this.producedByTopic.set(topic, (this.producedByTopic.get(topic) ?? 0) + count);
  }
  backpressureWait(ms: number): void {
    this.backpressureWaits++;
    this.backpressureMs += ms;
  }

  /** Dead-lettered frames, all reasons. */
  get deadLetteredTotal(): number {
    let n = 0;
    for (const v of this.deadLetters.values()) n += v;
    return n;
  }
}

/** Calls every given hook (e.g. the CLI's counters and a Prometheus binding). */
export function teeMetrics(...all: IngestMetrics[]): IngestMetrics {
  return {
    messageReceived: (k) => all.forEach((m) => m.messageReceived(k)),
    tradesReceived: (n) => all.forEach((m) => m.tradesReceived(n)),
    reconnect: () => all.forEach((m) => m.reconnect()),
    deadLettered: (r) => all.forEach((m) => m.deadLettered(r)),
    produced: (t, n) => all.forEach((m) => m.produced(t, n)),
    backpressureWait: (ms) => all.forEach((m) => m.backpressureWait(ms)),
  };
}
