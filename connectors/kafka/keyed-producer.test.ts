import { KafkaJSConnectionError, KafkaJSNonRetriableError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyedProducer, type BatchSender, type OutgoingRecord } from './keyed-producer.js';

/** Acknowledges every batch at once, keeping what it got. */
class AckingSender implements BatchSender {
  readonly acked: OutgoingRecord[] = [];
  async connect() {}
  async disconnect() {}
  async send(records: OutgoingRecord[]) {
    this.acked.push(...records);
  }
}

describe('KeyedProducer', () => {
  it('delivers records of any topic in order and counts each topic it acknowledged', async () => {
    const sender = new AckingSender();
    const produced = new Map<string, number>();
    const p = new KeyedProducer(sender, {
      batchMessages: 7,
      metrics: {
        produced: (t, n) => produced.set(t, (produced.get(t) ?? 0) + n),
        backpressureWait() {},
      },
    });
    const topics = ['a', 'b', 'c'];
    for (let i = 0; i < 60; i++)
      await p.send({
        topic: topics[i % 3]!,
        key: `k${i}`,
        value: Buffer.from(String(i)),
        timestamp: i,
      });
    await p.close();
    expect(sender.acked.map((r) => Number(r.value.toString()))).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    expect(Object.fromEntries(produced)).toEqual({ a: 20, b: 20, c: 20 });
    expect(p.stats()).toMatchObject({ delivered: 60, queuedMessages: 0 });
    await expect(
      p.send({ topic: 'a', key: null, value: Buffer.alloc(1), timestamp: 0 }),
    ).rejects.toMatchObject({ name: 'ProducerError', code: 'CLOSED' });
  });

  it('retries a batch whose send failed because a broker went down, and fails on a permanent error', async () => {
    // kafkajs gives up on a broker refusing connections with a "non-retriable" error whose
    // cause is the connection error: the ingest exited on it when a broker was killed.
    const down = () =>
      Object.assign(new KafkaJSNonRetriableError(new Error('retries ended')), {
        cause: new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9710'),
      });
    let failures = 2;
    const acked: OutgoingRecord[] = [];
    const flaky: BatchSender = {
      async connect() {},
      async disconnect() {},
      async send(records) {
        if (failures-- > 0) throw down();
        acked.push(...records);
      },
    };
    const record = { topic: 't', key: 'k', value: Buffer.from('v'), timestamp: 0 };
    const p = new KeyedProducer(flaky, { retry: { initialMs: 1, maxMs: 2 } });
    await p.send(record);
    await p.close();
    expect(acked).toHaveLength(1);
    expect(p.stats().retries).toBe(2);

    const broken: BatchSender = {
      async connect() {},
      async disconnect() {},
      async send() {
        throw new KafkaJSNonRetriableError(new Error('Topic authorization failed'));
      },
    };
    const q = new KeyedProducer(broken, { retry: { initialMs: 1, maxMs: 2 } });
    await q.send(record).catch(() => {});
    await expect(q.close()).rejects.toThrow();
  });
});
