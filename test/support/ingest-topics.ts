/**
 * What the tests of the Finnhub ingest into Kafka share: the run's raw-trades and
 * dead-letter topics (created before the file's tests, deleted after), a client for the
 * layer's broker, and the raw-trades Avro schema the ingest writes with.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, inject } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { loadSchema } from '../../connectors/registry/index.js';
import { createTopics, deleteTopicsWithPrefix } from './kafka-helpers.js';

/** Call at the top of a test file; `name` prefixes the topics (`<name>-<8 hex>.trades.raw`). */
export function useIngestTopics(name: string) {
  const prefix = `${name}-${randomUUID().slice(0, 8)}.`;
  const raw = `${prefix}trades.raw`;
  const dlq = `${prefix}finnhub.dlq`;
  const kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: name });
  beforeAll(async () => {
    await createTopics(kafka, [
      { topic: raw, partitions: 4 },
      { topic: dlq, partitions: 1 },
    ]);
  });
  afterAll(async () => {
    await deleteTopicsWithPrefix(kafka, prefix);
  });
  const schema = loadSchema(
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas/trades-raw.avsc'),
  );
  return { prefix, raw, dlq, kafka, schema };
}
