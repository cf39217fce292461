/**
 * Backpressure on the real broker: with a tiny in-flight bound the ingest producer holds
 * the source back instead of queueing — also through a simulated outage (the first
 * second of sends fail as if the broker were unreachable) — and in the end every record
 * the source handed over is in Kafka exactly once, in order per symbol.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  CountingMetrics,
  MemorySink,
  SyntheticSource,
  type TradeMessage,
} from '../../connectors/finnhub/index.js';
import { IngestProducer } from '../../connectors/finnhub/ingest-producer.js';
import { kafkaBatchSender, type BatchSender } from '../../connectors/kafka/keyed-producer.js';
import { AvroRegistrySerde } from '../../connectors/registry/index.js';
import { readUntil } from '../support/kafka-helpers.js';
import { useIngestTopics } from '../support/ingest-topics.js';

const { raw: RAW, dlq: DLQ, kafka, schema } = useIngestTopics('it-finnhub-bp');
const FEED = { seed: 77, symbols: 20, rate: 5000 };
const FRAMES = 4000;

/** The kafkajs sender, failing like an unreachable broker until `downUntil`. */
function flaky(inner: BatchSender, downUntil: () => number): BatchSender {
  return {
    connect: () => inner.connect(),
    disconnect: () => inner.disconnect(),
    async send(records) {
      if (Date.now() < downUntil())
        throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), {
          name: 'KafkaJSConnectionError',
          retriable: true,
        });
      await inner.send(records);
    },
  };
}

describe('ingest backpressure (real Kafka)', () => {
  it('a tiny bound blocks the source, through an outage, and everything is delivered once', async () => {
    // What the source hands over, computed without Kafka.
    const expected = new MemorySink();
    await new SyntheticSource({
      sink: expected,
      feed: FEED,
      pace: 'max',
      deterministic: true,
      maxFrames: FRAMES,
    }).run();

    const serde = await AvroRegistrySerde.create<TradeMessage>(
      inject('registryUrl'),
      `${RAW}-value`,
      schema,
    );
    const metrics = new CountingMetrics();
    let downUntil = 0;
    const producer = new IngestProducer(
      flaky(kafkaBatchSender(kafka), () => downUntil),
      {
        rawTopic: RAW,
        dlqTopic: DLQ,
        serialize: (m) => serde.serialize(m),
        maxQueuedMessages: 25,
        maxQueuedBytes: 8 * 1024,
        batchMessages: 10,
        retry: { initialMs: 20, maxMs: 100 },
        metrics,
      },
    );
    await producer.connect();
    const source = new SyntheticSource({
      sink: producer,
      feed: FEED,
      pace: 'max',
      deterministic: true,
      maxFrames: FRAMES,
      metrics,
    });
    const heapBefore = process.memoryUsage().heapUsed;
    downUntil = Date.now() + 1000;
    const t0 = Date.now();
    const summary = await source.run();
    await producer.close();
    const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

    const stats = producer.stats();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(stats.peakQueuedMessages).toBeLessThanOrEqual(25);
    expect(stats.peakQueuedBytes).toBeLessThanOrEqual(8 * 1024);
    expect(stats.backpressureWaits).toBeGreaterThan(100);
    expect(stats.retries).toBeGreaterThan(0);
    expect(metrics.backpressureWaits).toBe(stats.backpressureWaits);
    expect(metrics.backpressureMs).toBeGreaterThan(900);
    expect(heapGrowthMiB).toBeLessThan(64);
    expect(summary.tradeMessages).toBe(expected.messages.length);

    const raw = await readUntil(
      kafka,
      RAW,
      (r) => r.length >= expected.messages.length,
      90_000,
      'base64',
    );
    expect(raw).toHaveLength(expected.messages.length);
    const bySymbol = (ms: Array<{ key: string; m: TradeMessage }>) => {
      const out = new Map<string, TradeMessage[]>();
      for (const { key, m } of ms) out.set(key, [...(out.get(key) ?? []), m]);
      return out;
    };
    const got = [...raw]
      .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
      .map((r) => ({ key: r.key!, m: serde.deserialize(Buffer.from(r.value!, 'base64')) }));
    const want = expected.messages.map((m) => ({ key: m.data[0]!.s, m }));
    expect(bySymbol(got)).toEqual(bySymbol(want));

    const dlq = await readUntil(kafka, DLQ, (r) => r.length >= expected.deadLetters.length, 60_000);
    expect(dlq.map((r) => r.value).sort()).toEqual(
      expected.deadLetters.map((d) => d.bytes.toString()).sort(),
    );
  });
});
