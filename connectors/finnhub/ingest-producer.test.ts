import { describe, expect, it } from 'vitest';
import type { BatchSender, OutgoingRecord } from '../kafka/keyed-producer.js';
import { IngestProducer } from './ingest-producer.js';
import { jsonLogger } from './log.js';
import { CountingMetrics } from './metrics.js';
import type { TradeMessage } from './types.js';

const msg = (i: number, s = 'AAPL'): TradeMessage => ({
  type: 'trade',
  data: [{ s, p: 100 + i / 1000, t: 1_700_000_000_000 + i, v: 1, c: null }],
  ingest_timestamp: 1_700_000_000_000 + i,
});

/** A broker stand-in: records acknowledged batches; can be slow, down for a while, or broken. */
class FakeSender implements BatchSender {
  readonly acked: OutgoingRecord[] = [];
  batches = 0;
  attempts = 0;
  delayMs = 0;
  downUntil = 0;
  fatal: Error | undefined;

  async connect() {}
  async disconnect() {}
  async send(records: OutgoingRecord[]) {
    this.attempts++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fatal) throw this.fatal;
    if (Date.now() < this.downUntil)
      throw Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), {
        name: 'KafkaJSConnectionError',
        retriable: true,
      });
    this.batches++;
    this.acked.push(...records);
  }
}

function producer(
  sender: FakeSender,
  opts: Partial<ConstructorParameters<typeof IngestProducer>[1]> = {},
) {
  const lines: string[] = [];
  const metrics = new CountingMetrics();
  const p = new IngestProducer(sender, {
    serialize: (m) => Buffer.from(JSON.stringify(m)),
    metrics,
    logger: jsonLogger({ write: (l) => lines.push(l) }),
    retry: { initialMs: 5, maxMs: 20 },
    ...opts,
  });
  return { p, lines, metrics };
}

describe('IngestProducer', () => {
  it('produces trade messages keyed by symbol in order, in batches, only counting acknowledged ones', async () => {
    const sender = new FakeSender();
    const { p, metrics } = producer(sender, { batchMessages: 1000 });
    const before = Date.now();
    for (let i = 0; i < 5000; i++) await p.accept(msg(i, i % 2 ? 'MSFT' : 'AAPL'));
    await p.flush();
    expect(sender.acked).toHaveLength(5000);
    expect(
      sender.acked.map((r) => JSON.parse(r.value.toString()).data[0].t - 1_700_000_000_000),
    ).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(
      sender.acked.every(
        (r) => r.topic === 'trades.raw' && r.key === JSON.parse(r.value.toString()).data[0].s,
      ),
    ).toBe(true);
    // Kafka timestamps are ingest (wall-clock) time, not the trades' event time.
    expect(sender.acked.every((r) => r.timestamp >= before && r.timestamp <= Date.now())).toBe(
      true,
    );
    expect(sender.batches).toBeGreaterThanOrEqual(5);
    expect(sender.batches).toBeLessThan(60);
    expect(p.stats()).toMatchObject({
      accepted: 5000,
      delivered: 5000,
      queuedMessages: 0,
      queuedBytes: 0,
    });
    expect(metrics.producedByTopic.get('trades.raw')).toBe(5000);
    await p.close();
    await expect(p.accept(msg(1))).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('dead letters keep their bytes and say why, where from and when', async () => {
    const sender = new FakeSender();
    const { p } = producer(sender, { now: () => 4242 });
    const bytes = Buffer.from([0xff, 0x00, 0x7b]);
    await p.deadLetter({
      bytes,
      reason: 'not_json',
      detail: 'Unexpected token',
      source: 'finnhub',
      timestamp: 42,
    });
    await p.close();
    expect(sender.acked).toEqual([
      {
        topic: 'finnhub.dlq',
        key: null,
        value: bytes,
        timestamp: 4242,
        headers: {
          'millrace.reason': 'not_json',
          'millrace.source': 'finnhub',
          'millrace.timestamp': '42',
          'millrace.error': 'Unexpected token',
        },
      },
    ]);
  });

  it('never queues more than its bounds: a slow broker makes the source wait', async () => {
    const sender = new FakeSender();
    sender.delayMs = 3;
    const { p, metrics } = producer(sender, { maxQueuedMessages: 50, batchMessages: 20 });
    let waited = 0;
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      await p.accept(msg(i));
      waited += performance.now() - t0;
    }
    await p.flush();
    expect(sender.acked).toHaveLength(2000);
    expect(p.stats().peakQueuedMessages).toBeLessThanOrEqual(50);
    expect(p.stats().backpressureWaits).toBeGreaterThan(10);
    expect(metrics.backpressureWaits).toBe(p.stats().backpressureWaits);
    expect(waited).toBeGreaterThan(100);

    const bySize = producer(new FakeSender(), { maxQueuedBytes: 2000 });
    for (let i = 0; i < 500; i++) await bySize.p.accept(msg(i));
    await bySize.p.flush();
    expect(bySize.p.stats().peakQueuedBytes).toBeLessThanOrEqual(2000);
  });

  it('holds the source back while kafka is down, then delivers everything it accepted', async () => {
    const sender = new FakeSender();
    const { p, lines, metrics } = producer(sender, {
      maxQueuedMessages: 100,
      batchMessages: 25,
      slowWaitMs: 100,
    });
    sender.downUntil = Date.now() + 400;
    const t0 = Date.now();
    let acceptedDuringOutage = 0;
    for (let i = 0; i < 1000; i++) {
      await p.accept(msg(i));
      if (Date.now() < sender.downUntil) acceptedDuringOutage++;
    }
    await p.flush();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(acceptedDuringOutage).toBeLessThanOrEqual(101);
    expect(
      sender.acked.map((r) => JSON.parse(r.value.toString()).data[0].t - 1_700_000_000_000),
    ).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(p.stats().retries).toBeGreaterThan(0);
    expect(p.stats().peakQueuedMessages).toBeLessThanOrEqual(100);
    const msgs = lines.map((l) => JSON.parse(l).msg as string);
    expect(msgs).toContain(
      'kafka send failed; retrying the batch (callers wait once the queue is full)',
    );
    expect(msgs).toContain('kafka is back: queued records are being delivered');
    expect(msgs.some((m) => m.startsWith('backpressure'))).toBe(true);
    expect(metrics.backpressureMs).toBeGreaterThan(300);
  });

  it('a non-retriable error fails the producer: waiting and later accepts reject', async () => {
    const sender = new FakeSender();
    sender.fatal = Object.assign(new Error('Message too large'), {
      name: 'KafkaJSProtocolError',
      retriable: false,
    });
    const { p } = producer(sender, { maxQueuedMessages: 5, batchMessages: 2 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => p.accept(msg(i))),
    );
    expect(results.some((r) => r.status === 'rejected')).toBe(true);
    await expect(p.flush()).rejects.toMatchObject({
      name: 'ProducerError',
      code: 'SEND_FAILED',
      domain: 'external',
    });
    await expect(p.accept(msg(99))).rejects.toThrow(/cannot be retried: Message too large/);
  });

  it('closing while kafka stays down reports what was not delivered', async () => {
    const sender = new FakeSender();
    sender.downUntil = Infinity;
    const { p } = producer(sender);
    for (let i = 0; i < 10; i++) await p.accept(msg(i));
    await expect(p.close(200)).rejects.toMatchObject({
      code: 'UNDELIVERED',
      message: expect.stringMatching(/^10 accepted records were not acknowledged/),
    });
  });
});
