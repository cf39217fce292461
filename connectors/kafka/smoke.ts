/**
 * The smoke pipeline: proves a running stack end to end in a few seconds. Creates a
 * topic, produces a few records in one Kafka transaction, and reads them back
 * read_committed in a consumer group. Returns what it read.
 */
import { randomUUID } from 'node:crypto';
import { createKafka } from './client.js';

export interface SmokeResult {
  topic: string;
  produced: number;
  consumed: Array<{ partition: number; offset: string; key: string; value: string }>;
}

export async function runSmoke(brokers: string[], records = 5): Promise<SmokeResult> {
  const id = randomUUID().slice(0, 8);
  const topic = `millrace-smoke-${id}`;
  const kafka = createKafka({ brokers, clientId: `millrace-smoke-${id}` });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer({
      transactionalId: `millrace-smoke-${id}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({
      topic,
      messages: Array.from({ length: records }, (_, i) => ({
        key: `key-${i % 3}`,
        value: JSON.stringify({ n: i, at: Date.now() }),
      })),
    });
    await txn.commit();
    await producer.disconnect();
    const consumed = await readBack(kafka, topic, id, records);
    return { topic, produced: records, consumed };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

async function readBack(
  kafka: ReturnType<typeof createKafka>,
  topic: string,
  id: string,
  expected: number,
) {
  const consumer = kafka.consumer({ groupId: `millrace-smoke-${id}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed: SmokeResult['consumed'] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`smoke: read ${consumed.length}/${expected} records in 30 s`)),
        30_000,
      );
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          consumed.push({
            partition,
            offset: message.offset,
            key: String(message.key),
            value: String(message.value),
          });
          if (consumed.length === expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return consumed;
}
