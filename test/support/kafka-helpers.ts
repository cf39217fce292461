/**
 * Small Kafka helpers for integration and e2e tests: topics, producing, reading to the end
 * (the reading is bench/lib/topic-read.ts, shared with the soak).
 */
import type { Kafka } from 'kafkajs';
import { createTopics as create, type TopicSpec } from '../../connectors/kafka/topics.js';

export { deleteTopicsWithPrefix, withAdmin } from '../../connectors/kafka/topics.js';

/**
 * Creates a test's topics, kept by no time unless the spec says otherwise
 * (`retention.ms=-1`): tests stamp records with fixed times years ago (T0 = Nov 2023), which
 * the broker's time retention would delete at its next check, before the test reads them.
 */
export function createTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  return create(
    kafka,
    topics.map((t) => ({ ...t, config: { 'retention.ms': '-1', ...t.config } })),
  );
}

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
