/**
 * The two requests millrace's kafkajs patch adds for exactly-once with one transactional
 * producer per instance (KIP-447), against the real broker:
 *   - TxnOffsetCommit v3 carries the consumer's generation and member id: the group
 *     coordinator takes offsets from the current member and refuses a stale generation or
 *     an unknown member, so a zombie's transaction cannot commit its offsets;
 *   - OffsetFetch v7 with require_stable answers UNSTABLE_OFFSET_COMMIT while a transaction
 *     holding offsets of the partition is open, and the committed offset once it ends.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { createTopics, deleteTopicsWithPrefix, readUntil } from '../support/kafka-helpers.js';
import { fetchStableOffsets } from '../../runtime/restore.js';

const run = `it-kip447-${randomUUID().slice(0, 8)}`;
const input = `${run}-in`;
const output = `${run}-out`;
let kafka: Kafka;
let admin: Admin;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: run });
  admin = kafka.admin();
  await admin.connect();
  await createTopics(kafka, [
    { topic: input, partitions: 2 },
    { topic: output, partitions: 2 },
  ]);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await deleteTopicsWithPrefix(kafka, run);
  await admin.disconnect();
});

/** A member of `groupId` subscribed to the input; resolves with its generation and member id. */
async function member(groupId: string): Promise<{
  consumer: Consumer;
  joined: Promise<{ generationId: number; memberId: string }>;
}> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  closers.push(() => consumer.disconnect());
  const joined = new Promise<{ generationId: number; memberId: string }>((resolve) =>
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      resolve({ generationId: payload.generationId, memberId: payload.memberId }),
    ),
  );
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
  await consumer.run({ eachBatch: async () => {} });
  return { consumer, joined };
}

async function txnProducer(id: string): Promise<Producer> {
  const p = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
  closers.push(() => p.disconnect());
  await p.connect();
  return p;
}

const offsets = (offset: number) => [
  { topic: input, partitions: [{ partition: 0, offset: String(offset) }] },
];

async function committed(groupId: string, requireStable: boolean): Promise<string> {
  const r = await admin.fetchOffsets({ groupId, topics: [input], requireStable });
  return r[0]!.partitions.find((p) => p.partition === 0)!.offset;
}

describe('KIP-447 requests through the patched kafkajs', () => {
  it('commits offsets with the current generation and member, and refuses a stale generation or an unknown member', async () => {
    const groupId = `${run}-g1`;
    const { joined } = await member(groupId);
    const meta = await joined;
    expect(meta.generationId).toBeGreaterThan(0);
    const producer = await txnProducer(`${run}-t1`);

    const ok = await producer.transaction();
    await ok.send({ topic: output, messages: [{ key: 'k', value: 'committed', partition: 0 }] });
    await ok.sendOffsets({ consumerGroupId: groupId, topics: offsets(5), groupMetadata: meta });
    await ok.commit();
    expect(await committed(groupId, false)).toBe('5');

    for (const [groupMetadata, error] of [
      [{ ...meta, generationId: meta.generationId - 1 }, 'ILLEGAL_GENERATION'],
      [{ ...meta, memberId: 'not-a-member' }, 'UNKNOWN_MEMBER_ID'],
    ] as const) {
      const t = await producer.transaction();
      await t.send({ topic: output, messages: [{ key: 'k', value: 'zombie', partition: 0 }] });
      await expect(
        t.sendOffsets({ consumerGroupId: groupId, topics: offsets(9), groupMetadata }),
      ).rejects.toMatchObject({ type: error });
      await t.abort();
    }
    expect(await committed(groupId, false)).toBe('5');
    // A committed record after the refused ones: a read_committed reader that reaches it
    // has passed them, and must not have seen them.
    const after = await producer.transaction();
    await after.send({ topic: output, messages: [{ key: 'k', value: 'after', partition: 0 }] });
    await after.sendOffsets({ consumerGroupId: groupId, topics: offsets(6), groupMetadata: meta });
    await after.commit();
    const seen = await readUntil(kafka, output, (r) => r.some((x) => x.value === 'after'), 30_000);
    expect(seen.map((r) => r.value)).toEqual(['committed', 'after']);
  });

  it('a stable offset fetch waits out an open transaction that holds offsets', async () => {
    const groupId = `${run}-g2`;
    const { joined } = await member(groupId);
    const meta = await joined;
    const producer = await txnProducer(`${run}-t2`);
    const t = await producer.transaction();
    await t.sendOffsets({ consumerGroupId: groupId, topics: offsets(7), groupMetadata: meta });
    await expect(committed(groupId, true)).rejects.toMatchObject({
      type: 'UNSTABLE_OFFSET_COMMIT',
    });
    // Without require_stable the coordinator answers with the last committed offset (none).
    expect(await committed(groupId, false)).toBe('-1');
    await t.commit();
    // The transaction's markers are written after EndTxn answers: until they are, a stable
    // fetch is still refused, so it is asked again as the runtime does.
    const stable = await fetchStableOffsets(admin, groupId, [input], { timeoutMs: 10_000 });
    expect(stable[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('7');
  });
});
