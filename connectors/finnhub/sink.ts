/**
 * Where sources hand what they read: the Kafka ingest producer implements this
 * (connectors/finnhub/ingest-producer.ts, over connectors/kafka's keyed producer); tests use an in-memory one. Both calls may wait:
 * that wait is backpressure, and a source must not read more until it resolves.
 */
import type { DeadLetter, TradeMessage } from './types.js';

export interface TradeSink {
  /**
   * Takes one single-symbol trade message. Resolves once it is accepted (queued for
   * delivery, not yet acknowledged); waits while the sink is full. Rejects when the sink
   * has failed for good.
   */
  accept(message: TradeMessage): Promise<void>;
  /** Takes a frame that could not be read, for the dead-letter topic. Same waiting rules. */
  deadLetter(letter: DeadLetter): Promise<void>;
}

/** Keeps everything in memory, in order (tests, dry runs). */
export class MemorySink implements TradeSink {
  readonly messages: TradeMessage[] = [];
  readonly deadLetters: DeadLetter[] = [];

  async accept(message: TradeMessage): Promise<void> {
    this.messages.push(message);
  }

  async deadLetter(letter: DeadLetter): Promise<void> {
    this.deadLetters.push(letter);
  }
}
