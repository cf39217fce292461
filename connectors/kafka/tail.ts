/**
 * Follows topics read_committed from the beginning without a consumer group of record
 * (a random group id, offsets never committed): for displays such as `millrace demo`.
 *
 * @example
 *   const stop = await tailTopics({ brokers, topics: ['vwap.1m'], onRecord: (r) => show(r) });
 *   await stop();
 */
import { createKafka } from './client.js';

export interface TailedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

export async function tailTopics(o: {
  brokers: string[];
  topics: string[];
  clientId?: string;
  onRecord: (r: TailedRecord) => void | Promise<void>;
}): Promise<() => Promise<void>> {
  const kafka = createKafka({ brokers: o.brokers, clientId: o.clientId ?? 'millrace-tail' });
  const consumer = kafka.consumer({
    groupId: `millrace-tail-${process.pid}-${Date.now()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: o.topics, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      await o.onRecord({
        topic,
        partition,
        offset: Number(message.offset),
        key: message.key,
        value: message.value,
        timestamp: Number(message.timestamp),
      });
    },
  });
  return async () => {
    await consumer.disconnect().catch(() => {});
  };
}
