/**
 * read_committed through the patched kafkajs, against the real broker, when transactions
 * of several producers interleave on one partition and are aborted in another order than
 * they began (what happens to a changelog or an output partition when a task moves while
 * its old owner's transaction is still open). The broker lists a fetch's aborted
 * transactions in the order their abort markers were written; kafkajs 2.2.4 took them in
 * list order, one per record, and so returned records of a transaction that began first
 * but was aborted last. Every read_committed reader of millrace goes through this filter:
 * its input consumer (repartition topics, outputs of other exactly-once apps), its
 * changelog restores and standby replicas.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { createTopics, deleteTopicsWithPrefix, readUntil } from '../support/kafka-helpers.js';

const run = `it-readc-${randomUUID().slice(0, 8)}`;
let kafka: Kafka;
const producers: Producer[] = [];

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: run });
});

afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => {});
  await deleteTopicsWithPrefix(kafka, run);
});

async function transaction(name: string): Promise<Transaction> {
  const p = kafka.producer({
    transactionalId: `${run}-${name}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  producers.push(p);
  await p.connect();
  return p.transaction();
}

const send = (txn: Transaction, topic: string, value: string) =>
  txn.send({ topic, acks: -1, messages: [{ key: 'k', value, partition: 0 }] });

describe('read_committed with interleaved transactions', () => {
  it('returns only committed records when an earlier-begun transaction is aborted after a later one', async () => {
    const topic = `${run}-interleaved`;
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    // Offsets: a1 0, b1 1, B's abort marker 2, c1 3, C's commit 4, a2 5, A's abort 6,
    // d1 7, D's commit 8. Aborted transactions by marker: B (first offset 1), then A (0).
    const a = await transaction('a');
    await send(a, topic, 'a1 aborted');
    const b = await transaction('b');
    await send(b, topic, 'b1 aborted');
    await b.abort();
    const c = await transaction('c');
    await send(c, topic, 'c1 committed');
    await c.commit();
    await send(a, topic, 'a2 aborted');
    await a.abort();
    const d = await transaction('d');
    await send(d, topic, 'd1 committed');
    await d.commit();

    // Read until the last committed record arrives; anything aborted before it is in `got`.
    const got = await readUntil(kafka, topic, (r) => r.some((x) => x.value === 'd1 committed'));
    expect(got.map((r) => r.value)).toEqual(['c1 committed', 'd1 committed']);
  });

  it('keeps a producer’s committed records after its own aborted transaction', async () => {
    const topic = `${run}-same-producer`;
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    const p = kafka.producer({
      transactionalId: `${run}-p`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    producers.push(p);
    await p.connect();
    const other = await transaction('other');
    await send(other, topic, 'o1 aborted');
    let t = await p.transaction();
    await send(t, topic, 'p1 aborted');
    await t.abort();
    t = await p.transaction();
    await send(t, topic, 'p2 committed');
    await t.commit();
    await send(other, topic, 'o2 aborted');
    await other.abort();
    t = await p.transaction();
    await send(t, topic, 'p3 committed');
    await t.commit();

    const got = await readUntil(kafka, topic, (r) => r.some((x) => x.value === 'p3 committed'));
    expect(got.map((r) => r.value)).toEqual(['p2 committed', 'p3 committed']);
  });
});
