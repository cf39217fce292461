/**
 * A restore holds at most about one fetch of records at a time, and the fetch is bounded
 * (`restoreFetchMaxBytes`): a 2 MiB changelog partition written in 50 KiB batches,
 * restored with a 64 KiB bound, reaches the store in pieces of at most one bound plus
 * one record batch (Kafka returns a batch larger than the bound whole).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { endOffsets, restoreChangelogs } from '../../runtime/restore.js';
import { withAdmin } from '../support/kafka-helpers.js';

const app = `it-restore-bound-${randomUUID().slice(0, 8)}`;
const changelog = `${app}-store-changelog`;
const VALUE_BYTES = 5 << 10;
const PER_SEND = 10; // one record batch of ~50 KiB per send
const SENDS = 40; // ~2 MiB
let kafka: Kafka;

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: app });
  await withAdmin(kafka, (admin) =>
    admin.createTopics({ waitForLeaders: true, topics: [{ topic: changelog }] }),
  );
  const producer = kafka.producer();
  await producer.connect();
  for (let s = 0; s < SENDS; s++)
    await producer.send({
      topic: changelog,
      messages: Array.from({ length: PER_SEND }, (_, i) => ({
        key: `k${s * PER_SEND + i}`,
        value: Buffer.alloc(VALUE_BYTES, 1),
        partition: 0,
      })),
    });
  await producer.disconnect();
});

afterAll(async () => {
  await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [changelog] })).catch(() => {});
});

/** The changelog partition's end offset. */
const changelogEnd = async () =>
  (await withAdmin(kafka, (admin) => endOffsets(admin, [changelog]))).get(`${changelog}:0`)!;

describe('restore fetch size', () => {
  it('hands the stores what one bounded fetch returns, not the whole partition', async () => {
    const end = await changelogEnd();
    expect(end).toBe(SENDS * PER_SEND);
    const pieces: number[] = [];
    const fetchMaxBytes = 64 << 10;
    const n = await restoreChangelogs(
      kafka,
      app,
      [
        {
          topic: changelog,
          partition: 0,
          fromOffset: 0,
          endOffset: end,
          apply: async (records) =>
            void pieces.push(records.reduce((b, r) => b + (r.value?.length ?? 0), 0)),
        },
      ],
      { fetchMaxBytes },
    );
    expect(n).toBe(SENDS * PER_SEND);
    expect(pieces.length).toBeGreaterThan(SENDS / 4);
    expect(Math.max(...pieces)).toBeLessThanOrEqual(fetchMaxBytes + PER_SEND * VALUE_BYTES);
  });

  it("a store's failure fails the restore, and only the restore (nothing left unhandled to kill the process)", async () => {
    // A task revoked while its restore loads has its stores closed under the batch in
    // flight: the soak saw that write fail and the rejection go unhandled (the instance died).
    const end = await changelogEnd();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let batches = 0;
    try {
      const restore = restoreChangelogs(
        kafka,
        app,
        [
          {
            topic: changelog,
            partition: 0,
            fromOffset: 0,
            endOffset: end,
            apply: async () => {
              if (++batches === 2) throw new Error('Database is not open');
            },
          },
        ],
        { fetchMaxBytes: 64 << 10 },
      );
      await expect(restore).rejects.toThrow('Database is not open');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(unhandled).toEqual([]);
  });
});
