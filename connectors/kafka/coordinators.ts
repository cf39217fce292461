/**
 * Waits until a broker's group and transaction coordinators answer for every partition
 * of `__consumer_offsets` and `__transaction_state`.
 *
 * A broker that has just started (or created those topics on their first use) answers
 * COORDINATOR_LOAD_IN_PROGRESS while it loads them; on a busy 2-core machine that took
 * longer than a client's retries (a transactional offset commit failed in CI after ≈5 s of
 * them). `npm run infra:up` and the test setup call this so that the first app or test to
 * use a group does not pay for, or fail on, the load.
 */
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from './client.js';

/** Kafka's partition for a group or transactional id: abs(String.hashCode) % partitions. */
export function coordinatorPartition(id: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}

/** One id per partition of a coordinator topic with `partitions` partitions. */
export function idsCoveringPartitions(prefix: string, partitions: number): string[] {
  const ids: Array<string | undefined> = new Array(partitions);
  let found = 0;
  for (let i = 0; found < partitions; i++) {
    const id = `${prefix}-${i}`;
    const p = coordinatorPartition(id, partitions);
    if (ids[p] === undefined) {
      ids[p] = id;
      found++;
    }
  }
  return ids as string[];
}

export interface AwaitCoordinatorsOptions {
  timeoutMs?: number;
}

/** Resolves once both coordinators answer for all their partitions; throws after the timeout. */
export async function awaitCoordinators(
  brokers: string[],
  opts: AwaitCoordinatorsOptions = {},
): Promise<{ groupPartitions: number; transactionPartitions: number; ms: number }> {
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  const kafka = createKafka({ brokers, clientId: 'millrace-coordinators', retries: 3 });
  const admin = kafka.admin();
  await until(deadline, 'the broker to answer', () => admin.connect());
  try {
    // The first lookup creates the topic if it is absent; then every partition must load.
    await until(deadline, 'the group coordinator', () =>
      admin.describeGroups(['millrace-coordinators']),
    );
    const groupPartitions = await partitionCount(admin, '__consumer_offsets', deadline);
    await until(deadline, 'the group coordinator to load every partition', () =>
      admin.describeGroups(idsCoveringPartitions('millrace-coordinators', groupPartitions)),
    );
    await initTransactional(kafka, 'millrace-coordinators', deadline);
    const transactionPartitions = await partitionCount(admin, '__transaction_state', deadline);
    for (const id of idsCoveringPartitions('millrace-coordinators', transactionPartitions))
      await initTransactional(kafka, id, deadline);
    return { groupPartitions, transactionPartitions, ms: Date.now() - t0 };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function partitionCount(admin: Admin, topic: string, deadline: number): Promise<number> {
  return until(deadline, `${topic} metadata`, async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const n = meta.topics[0]?.partitions.length ?? 0;
    if (!n) throw new Error(`${topic} has no partitions yet`);
    return n;
  });
}

/** InitProducerId through the coordinator that owns `id` (answers once its partition loaded). */
async function initTransactional(kafka: Kafka, id: string, deadline: number): Promise<void> {
  await until(deadline, `the transaction coordinator (${id})`, async () => {
    const producer = kafka.producer({ transactionalId: id, maxInFlightRequests: 1 });
    try {
      await producer.connect();
      const txn = await producer.transaction();
      await txn.abort();
    } finally {
      await producer.disconnect().catch(() => {});
    }
  });
}

async function until<T>(deadline: number, what: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Kafka: gave up waiting for ${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
