/**
 * `committedStreamTime` reads the stream time tasks commit in their offsets' metadata
 * (transactionally, as under exactly-once) back from the broker: the newest over the
 * partitions, nothing for a group that committed none or a topic that does not exist.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { committedStreamTime, withAdmin } from '../../runtime/admin/index.js';
import { encodeOffsetMetadata } from '../../runtime/offset-metadata.js';

const run = `it-clock-${randomUUID().slice(0, 8)}`;
const topic = `${run}-source`;
let kafka: Kafka;
const brokers = () => inject('kafkaBrokers');

beforeAll(async () => {
  kafka = createKafka({ brokers: brokers(), clientId: run });
  await withAdmin(brokers(), run, (admin) =>
    admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] }),
  );
  const producer = kafka.producer({
    transactionalId: `${run}-tx`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.sendOffsets({
    consumerGroupId: run,
    topics: [
      {
        topic,
        partitions: [
          { partition: 0, offset: '5', metadata: encodeOffsetMetadata(1_764_000_000_000) },
          { partition: 1, offset: '7', metadata: encodeOffsetMetadata(1_764_000_042_000) },
          { partition: 2, offset: '1', metadata: null },
        ],
      },
    ],
  } as unknown as Parameters<typeof txn.sendOffsets>[0]);
  await txn.commit();
  await producer.disconnect();
});

afterAll(async () => {
  await withAdmin(brokers(), run, async (admin) => {
    await admin.deleteGroups([run]).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  });
});

describe('committedStreamTime', () => {
  it('is the newest stream time the group committed on any partition', async () => {
    const t = await withAdmin(brokers(), run, (admin) =>
      committedStreamTime(admin, run, [topic, `${run}-absent`]),
    );
    expect(t).toBe(1_764_000_042_000);
  });

  it('is undefined for a group that committed nothing and for topics that do not exist', async () => {
    await withAdmin(brokers(), run, async (admin) => {
      expect(await committedStreamTime(admin, `${run}-other`, [topic])).toBeUndefined();
      expect(await committedStreamTime(admin, run, [`${run}-absent`])).toBeUndefined();
    });
  });
});
