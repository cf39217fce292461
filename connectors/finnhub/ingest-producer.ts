/**
 * The ingest producer: takes what the Finnhub sources read (a `TradeSink`) and produces it
 * to Kafka through a `KeyedProducer` (connectors/kafka/keyed-producer.ts) — each
 * single-symbol trade message to `trades.raw`, keyed by symbol, Avro with Confluent
 * framing (through the registry serde you pass as `serialize`); each unreadable frame to
 * `finnhub.dlq` as its original bytes with `millrace.reason`, `millrace.source`,
 * `millrace.timestamp` and `millrace.error` headers.
 *
 * Bounds, batching, backpressure and retries are the keyed producer's: `accept()` waits
 * while its queue is full, and a record counts as delivered only once Kafka acknowledged
 * it. Retrying a batch that failed part-way can write it again: the pipeline's dedupe step
 * removes such duplicates.
 *
 * @example
 *   const producer = new IngestProducer(kafkaBatchSender(createKafka({ brokers, clientId: 'ingest' })), {
 *     serialize: (m) => rawSerde.serialize(m),
 *   });
 *   await producer.connect();
 *   await new SyntheticSource({ sink: producer }).run(signal);
 *   await producer.close();
 */
import {
  KeyedProducer,
  type BatchSender,
  type KeyedProducerOptions,
  type KeyedProducerStats,
} from '../kafka/keyed-producer.js';
import type { IngestLogger } from './log.js';
import type { IngestMetrics } from './metrics.js';
import type { TradeSink } from './sink.js';
import type { DeadLetter, TradeMessage } from './types.js';

export interface IngestProducerOptions extends KeyedProducerOptions {
  /** Turns a trade message into the `trades.raw` value (Avro, Confluent framing). */
  serialize(message: TradeMessage): Buffer;
  /** Default `trades.raw`. */
  rawTopic?: string;
  /** Default `finnhub.dlq`. */
  dlqTopic?: string;
  metrics?: IngestMetrics;
  /** Structured logger. Default: silent. */
  logger?: IngestLogger;
  /** Wall clock for the records' Kafka timestamps, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Counters of an `IngestProducer`: the keyed producer's, and what the sources handed over. */
export interface IngestProducerStats extends KeyedProducerStats {
  /** Trade messages accepted from sources. */
  accepted: number;
  /** Dead letters accepted. */
  deadLetters: number;
}

const HEADER = {
  reason: 'millrace.reason',
  source: 'millrace.source',
  timestamp: 'millrace.timestamp',
  error: 'millrace.error',
} as const;

export class IngestProducer implements TradeSink {
  private readonly producer: KeyedProducer;
  private readonly rawTopic: string;
  private readonly dlqTopic: string;
  private readonly now: () => number;
  private accepted = 0;
  private deadLetters = 0;

  /** `sender`: `kafkaBatchSender(kafka)` (idempotent, acks=all), or a test's stand-in. */
  constructor(
    sender: BatchSender,
    private readonly opts: IngestProducerOptions,
  ) {
    this.producer = new KeyedProducer(sender, opts);
    this.rawTopic = opts.rawTopic ?? 'trades.raw';
    this.dlqTopic = opts.dlqTopic ?? 'finnhub.dlq';
    this.now = opts.now ?? Date.now;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Queues one trade message for `trades.raw`, keyed by its symbol; waits while the queue is full. */
  accept(message: TradeMessage): Promise<void> {
    this.accepted++;
    return this.producer.send({
      topic: this.rawTopic,
      key: message.data[0]?.s ?? null,
      value: this.opts.serialize(message),
      // The record's Kafka timestamp is when it was ingested, by the wall clock: event time
      // lives in the payload. A replayed or deterministic feed stamped with its (old) event
      // time would be deleted by the broker's retention minutes after it was written.
      timestamp: this.now(),
    });
  }

  /** Queues a frame that could not be read for `finnhub.dlq`, as its original bytes. */
  deadLetter(letter: DeadLetter): Promise<void> {
    this.deadLetters++;
    return this.producer.send({
      topic: this.dlqTopic,
      key: null,
      value: letter.bytes,
      timestamp: this.now(),
      headers: {
        [HEADER.reason]: letter.reason,
        [HEADER.source]: letter.source,
        [HEADER.timestamp]: String(letter.timestamp),
        [HEADER.error]: letter.detail.slice(0, 1000),
      },
    });
  }

  stats(): IngestProducerStats {
    return { accepted: this.accepted, deadLetters: this.deadLetters, ...this.producer.stats() };
  }

  /** See `KeyedProducer.flush`: waits for every acknowledgement, at most `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void> {
    return this.producer.flush(timeoutMs);
  }

  /** See `KeyedProducer.close`: flushes (default 30 s), then disconnects. */
  close(timeoutMs?: number): Promise<void> {
    return this.producer.close(timeoutMs);
  }
}
