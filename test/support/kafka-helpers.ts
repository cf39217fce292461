/**
 * Small Kafka helpers for integration and e2e tests: topics, producing, reading to the end
 * (the reading is bench/lib/topic-read.ts, shared with the soak).
 */
import type { Kafka } from 'kafkajs';

export { createTopics, deleteTopicsWithPrefix, withAdmin } from '../../connectors/kafka/topics.js';

export async function produce(
  kafka: Kafka,
  topic: string,
  messages: Array<{
    key: string | null;
    value: string | Buffer | null;
    partition?: number;
    timestamp?: number;
  }>,
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 5000) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + 5000).map((m) => ({
          key: m.key,
          value: m.value,
          partition: m.partition,
          timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

export {
  readSettled,
  readUntil,
  recordsIn,
  settled,
  valuesByKey,
  type ReadRecord,
} from '../../bench/lib/topic-read.js';
