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
});
