/**
 * Proves the real broker the global setup started speaks to kafkajs 2.2.4: a produce /
 * consume round trip in a consumer group, and transactions with sendOffsets where a
 * read_committed consumer sees only the committed one.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { fetchStableOffsets } from '../../runtime/restore.js';

const run = randomUUID().slice(0, 8);
let kafka: Kafka;
const consumers: Consumer[] = [];

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: `it-kafka-${run}` });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [`it-roundtrip-${run}`, `it-txn-in-${run}`, `it-txn-out-${run}`].map((topic) => ({
      topic,
      numPartitions: 3,
    })),
  });
  await admin.disconnect();
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect()));
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({
    topics: [`it-roundtrip-${run}`, `it-txn-in-${run}`, `it-txn-out-${run}`],
  });
  await admin.disconnect();
});

/** Consumes from the beginning until `count` messages arrived (or fails after a timeout). */
async function consume(topic: string, groupId: string, count: number, readUncommitted = false) {
  const consumer = kafka.consumer({
    groupId,
    readUncommitted,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<{ key: string; value: string; partition: number }> = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${got.length}/${count} messages from ${topic}`)),
      30_000,
    );
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        got.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
        if (got.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  return { consumer, got };
}

describe('kafkajs against the real broker', () => {
  it('round-trips records through a consumer group and commits its offsets', async () => {
    const topic = `it-roundtrip-${run}`;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
    await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();

    const group = `it-group-${run}`;
    const { consumer, got } = await consume(topic, group, sent.length);
    expect(got.map((m) => m.value).sort()).toEqual(sent.map((m) => m.value).sort());
    // One key always lands on one partition.
    const partitionsByKey = new Map<string, Set<number>>();
    for (const m of got)
      partitionsByKey.set(m.key, (partitionsByKey.get(m.key) ?? new Set()).add(m.partition));
    for (const parts of partitionsByKey.values()) expect(parts.size).toBe(1);
    await consumer.stop();

    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    await admin.disconnect();
    const total = committed[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    expect(total).toBe(sent.length);
  });

  it('commits one transaction with sendOffsets and aborts another; read_committed sees only the first', async () => {
    const [input, output] = [`it-txn-in-${run}`, `it-txn-out-${run}`];
    const group = `it-txn-group-${run}`;
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: input, messages: [{ key: 'a', value: '1', partition: 0 }] });
    await plain.disconnect();

    const producer = kafka.producer({
      transactionalId: `it-txn-${run}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const committedTxn = await producer.transaction();
    await committedTxn.send({
      topic: output,
      messages: [{ key: 'ok', value: 'committed', partition: 0 }],
    });
    await committedTxn.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '1' }] }],
    });
    await committedTxn.commit();

    const aborted = await producer.transaction();
    await aborted.send({
      topic: output,
      messages: [{ key: 'no', value: 'aborted', partition: 0 }],
    });
    await aborted.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '99' }] }],
    });
    await aborted.abort();

    // A marker record after both transactions, so the readers know they have read everything.
    const last = await producer.transaction();
    await last.send({ topic: output, messages: [{ key: 'end', value: 'end', partition: 0 }] });
    await last.commit();
    await producer.disconnect();

    const committedReader = await consume(output, `it-rc-${run}`, 2);
    expect(committedReader.got.map((m) => m.value)).toEqual(['committed', 'end']);
    const uncommittedReader = await consume(output, `it-ru-${run}`, 3, true);
    expect(uncommittedReader.got.map((m) => m.value)).toEqual(['committed', 'aborted', 'end']);

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await fetchStableOffsets(admin, group, [input], { timeoutMs: 30_000 });
    await admin.disconnect();
    expect(offsets[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('1');
  });
});
