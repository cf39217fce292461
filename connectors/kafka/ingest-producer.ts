/**
 * Produces ingested trade messages to `trades.raw` (keyed by symbol, Avro) and rejected
 * frames to `finnhub.dlq` (original bytes, reason header), with an idempotent producer.
 * Memory is bounded: records are sent in batches, one request at a time, and `accept()`
 * waits while `maxPendingBatches` are queued — a slow or absent broker slows the source
 * down instead of growing a buffer. Sends are retried by kafkajs; a record counts as
 * delivered only after the broker acknowledged it.
 */
import type { Kafka, Message, Producer } from 'kafkajs';

export interface IngestProducerOptions {
  rawTopic: string;
  dlqTopic: string;
  serialize(message: unknown): Buffer;
  batchSize?: number;
  maxPendingBatches?: number;
  lingerMs?: number;
  onBackpressure?: () => void;
}

interface Pending {
  messages: Array<{ topic: string; message: Message }>;
}

export class IngestProducer {
  private readonly producer: Producer;
  private batch: Pending = { messages: [] };
  private readonly queue: Pending[] = [];
  private sending = false;
  private timer?: NodeJS.Timeout;
  private waiters: Array<() => void> = [];
  private failure?: unknown;
  delivered = 0;
  rejected = 0;

  constructor(
    kafka: Kafka,
    private readonly o: IngestProducerOptions,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Queues one trade message; waits while the queue is full (backpressure). */
  async accept(symbol: string, message: unknown, timestamp: number): Promise<void> {
    this.add({
      topic: this.o.rawTopic,
      message: { key: symbol, value: this.o.serialize(message), timestamp: String(timestamp) },
    });
    await this.room();
  }

  /** Queues a rejected frame for the dead-letter topic, as its original bytes. */
  async reject(frame: Buffer, reason: string, timestamp: number): Promise<void> {
    this.rejected++;
    this.add({
      topic: this.o.dlqTopic,
      message: {
        key: null,
        value: frame,
        timestamp: String(timestamp),
        headers: { 'millrace.reason': reason, 'millrace.source': 'finnhub' },
      },
    });
    await this.room();
  }

  private add(m: { topic: string; message: Message }): void {
    if (this.failure) throw this.failure;
    this.batch.messages.push(m);
    if (this.batch.messages.length >= (this.o.batchSize ?? 2000)) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.o.lingerMs ?? 20);
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.batch.messages.length) return;
    this.queue.push(this.batch);
    this.batch = { messages: [] };
    void this.pump();
  }

  private async room(): Promise<void> {
    if (this.queue.length < (this.o.maxPendingBatches ?? 8)) return;
    this.o.onBackpressure?.();
    await new Promise<void>((r) => this.waiters.push(r));
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length) {
        const b = this.queue[0]!;
        const byTopic = new Map<string, Message[]>();
        for (const m of b.messages)
          (byTopic.get(m.topic) ?? byTopic.set(m.topic, []).get(m.topic)!).push(m.message);
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        this.delivered += b.messages.length;
        this.queue.shift();
        for (const w of this.waiters.splice(0)) w();
      }
    } catch (err) {
      this.failure = err;
      for (const w of this.waiters.splice(0)) w();
    } finally {
      this.sending = false;
    }
  }

  /** Sends everything queued and waits for the acknowledgements. */
  async flush(): Promise<void> {
    this.seal();
    while (this.queue.length || this.sending) {
      if (this.failure) throw this.failure;
      await new Promise((r) => setTimeout(r, 5));
      void this.pump();
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.flush().finally(() => this.producer.disconnect());
  }
}
