/**
 * The runtime's Kafka pieces against the real broker: the instance's transactional
 * producer (commit, abort, several tasks in one transaction, fencing of a producer whose
 * transactional id was claimed again, a commit refused for a stale group generation) and
 * changelog restore from a checkpoint to the end, reading only committed records.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { MillraceError, TaskMigratedError } from '../../runtime/errors.js';
import {
  InstanceTransactionalProducer,
  type GroupMetadata,
  type OffsetToCommit,
  type OutgoingRecord,
} from '../../runtime/producers.js';
import {
  endOffsets,
  fetchStableOffsets,
  restoreChangelogs,
  type RestoreRecordOut,
} from '../../runtime/restore.js';

const run = randomUUID().slice(0, 8);
const app = `it-rt-${run}`;
const changelog = `${app}-counts-changelog`;
const input = `${app}-input`;
let kafka: Kafka;

const rec = (k: string, v: string | null, partition = 1): OutgoingRecord => ({
  topic: changelog,
  partition,
  key: Buffer.from(k),
  value: v === null ? null : Buffer.from(v),
  // Now: a time long past would be deleted by the broker's retention check (every 10 s on
  // the test broker) from the topics without retention.ms=-1 before the test reads them.
  timestamp: Date.now(),
});

/** The instance producer of `id` (no consumer group member: offsets go in without a generation). */
function instanceProducer(
  id: string,
  group = app,
  membership: () => GroupMetadata | undefined = () => undefined,
  eager = true,
): InstanceTransactionalProducer {
  return new InstanceTransactionalProducer(kafka, id, group, membership, {
    transactionTimeoutMs: 10_000,
    eager,
  });
}

/**
 * Waits until every transaction of transactional id `id` has ended on every partition it
 * wrote: the coordinator answers InitProducerId for an id only once its last transaction
 * is complete (all commit or abort markers written); before that, CONCURRENT_TRANSACTIONS,
 * which the client retries. EndTxn answers earlier, so a read_committed reader started
 * right after a commit may not see it yet.
 */
async function transactionsSettled(id: string, group = app): Promise<void> {
  const barrier = instanceProducer(id, group);
  await barrier.init();
  await barrier.close();
}

/**
 * A one-partition output topic `<app>-<name>-out`, a group `<app>-<name>`, and the instance
 * producer `<app>-<id>` (initialised) with task 0_0's committer, for tests of one producer.
 */
async function oneOutput(name: string, id: string) {
  const group = `${app}-${name}`;
  const out = `${group}-out`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: out, numPartitions: 1 }] });
  const o = (k: string): OutgoingRecord => ({ ...rec(k, '1', 0), topic: out });
  const p = instanceProducer(`${app}-${id}`, group);
  await p.init();
  return { group, out, admin, o, p, c: p.committer('0_0') };
}

/** One task's commit as its own transaction. */
function commit(
  p: InstanceTransactionalProducer,
  task: string,
  records: OutgoingRecord[],
  offsets: OffsetToCommit[],
) {
  const c = p.committer(task);
  const written = c.commit(records, offsets);
  c.flush();
  return written;
}

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: app });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: changelog,
        numPartitions: 2,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
      { topic: input, numPartitions: 2 },
    ],
  });
  await admin.disconnect();
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [changelog, input] }).catch(() => {});
  await admin.disconnect();
});

describe('runtime on the real broker', () => {
  it('restores only committed changelog records, from a checkpoint to the end', async () => {
    const p = instanceProducer(`${app}-i1`);
    await p.init();
    const first = await commit(
      p,
      '0_1',
      [rec('a', '1'), rec('b', '1'), rec('a', '2')],
      [{ topic: input, partition: 1, offset: 3 }],
    );
    expect(first.get(`${changelog}:1`)).toBe(2);
    // An aborted transaction: its records must never be restored.
    await expect(
      commit(
        p,
        '0_1',
        [rec('zombie', 'x'), { ...rec('c', '1'), topic: 'no-such-topic-' + run }],
        [],
      ),
    ).rejects.toThrow();
    p.discardAhead(); // as the thread does: its tasks are rebuilt after a failed transaction
    await commit(
      p,
      '0_1',
      [rec('c', '7'), rec('b', null)],
      [{ topic: input, partition: 1, offset: 5 }],
    );
    await p.close();
    await transactionsSettled(`${app}-i1`);

    const admin = kafka.admin();
    await admin.connect();
    const ends = await endOffsets(admin, [changelog]);
    await admin.disconnect();

    const applied: RestoreRecordOut[] = [];
    const restoreFrom = async (fromOffset: number) => {
      applied.length = 0;
      const n = await restoreChangelogs(kafka, app, [
        {
          topic: changelog,
          partition: 1,
          fromOffset,
          endOffset: ends.get(`${changelog}:1`)!,
          apply: async (r) => void applied.push(...r),
        },
      ]);
      return n;
    };
    // What restore promises is the state: the last committed value per key, nothing of
    // the aborted transaction. (Once in about a dozen runs kafkajs delivered the partition
    // from offset 1, dropping a=1 — a value superseded by a=2 in the same partition; under
    // investigation, see the issue note. The resulting state is the same either way.)
    const n0 = await restoreFrom(0);
    expect(n0).toBeGreaterThanOrEqual(4);
    const state = new Map<string, string>();
    for (const r of applied) {
      if (r.value === null) state.delete(r.key.toString());
      else state.set(r.key.toString(), r.value.toString());
    }
    expect(Object.fromEntries(state)).toEqual({ a: '2', c: '7' });
    expect(applied.some((r) => r.key.toString() === 'zombie')).toBe(false);
    expect(applied.map((r) => `${r.key}=${r.value ?? 'null'}`).slice(-3)).toEqual([
      'a=2',
      'c=7',
      'b=null',
    ]);
    // From a checkpoint just past the first transaction: only what came after.
    expect(await restoreFrom(first.get(`${changelog}:1`)! + 1)).toBe(2);
    expect(applied.map((r) => `${r.key}=${r.value ?? 'null'}`)).toEqual(['c=7', 'b=null']);
  });

  it('commits several tasks in one transaction, and fails every one of them when the group refuses the generation', async () => {
    const group = `${app}-members`;
    const out = `${app}-members-out`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: out, numPartitions: 2 }] });
    const member = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
    const joined = new Promise<GroupMetadata>((resolve) =>
      member.on(member.events.GROUP_JOIN, ({ payload }) =>
        resolve({ generationId: payload.generationId, memberId: payload.memberId }),
      ),
    );
    await member.connect();
    await member.subscribe({ topic: input, fromBeginning: true });
    await member.run({ eachBatch: async () => {} });
    let membership = await joined;
    const p = instanceProducer(`${app}-i3`, group, () => membership);
    await p.init();
    const sent: string[] = [];
    const producer = (p as unknown as { producer: Producer }).producer;
    producer.on(producer.events.REQUEST, (e) => sent.push(e.payload.apiName));
    const both = async (a: string, b: string) => {
      const t0 = p
        .committer('0_0')
        .commit([{ ...rec(a, '1', 0), topic: out }], [{ topic: input, partition: 0, offset: 4 }]);
      const t1 = p
        .committer('0_1')
        .commit([{ ...rec(b, '1', 1), topic: out }], [{ topic: input, partition: 1, offset: 6 }]);
      p.flush();
      return Promise.allSettled([t0, t1]);
    };
    const ok = await both('t0', 't1');
    expect(ok.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    // Two tasks, one transaction: one TxnOffsetCommit and one EndTxn.
    expect(sent.filter((a) => a === 'EndTxn')).toHaveLength(1);
    expect(sent.filter((a) => a === 'TxnOffsetCommit')).toHaveLength(1);
    const offsetsNow = async () =>
      (await fetchStableOffsets(admin, group, [input], { timeoutMs: 30_000 }))[0]!.partitions
        .map((x) => `${x.partition}:${x.offset}`)
        .sort();
    expect(await offsetsNow()).toEqual(['0:4', '1:6']);

    membership = { ...membership, generationId: membership.generationId - 1 };
    const refused = await both('stale0', 'stale1');
    for (const r of refused) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TaskMigratedError);
    }
    expect(await offsetsNow()).toEqual(['0:4', '1:6']);
    await p.close();
    await member.disconnect();
    await transactionsSettled(`${app}-i3`, group);
    const ends = await endOffsets(admin, [out]);
    const keys: string[] = [];
    await restoreChangelogs(
      kafka,
      `${app}-members-reader`,
      [0, 1].map((partition) => ({
        topic: out,
        partition,
        fromOffset: 0,
        endOffset: ends.get(`${out}:${partition}`)!,
        apply: async (rs: RestoreRecordOut[]) => void keys.push(...rs.map((x) => String(x.key))),
      })),
    );
    expect(keys).toContain('t0');
    expect(keys).toContain('t1');
    expect(keys.filter((k) => k.startsWith('stale'))).toEqual([]);
    await admin.deleteTopics({ topics: [out] }).catch(() => {});
    await admin.disconnect();
  });

  it('a transaction begun while a flushed commit waits its turn belongs to the commit after it', async () => {
    // flush, flush, prepare: the second send must not take the transaction begun after it
    // (that one waits for the second send to end: taking it would wait forever).
    const { group, out, admin, o, p, c } = await oneOutput('order', 'i4');
    const within = <T>(x: Promise<T>) =>
      Promise.race([
        x,
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error('commit hung')), 15_000)),
      ]);
    const first = c.commit([o('o1')], [{ topic: input, partition: 0, offset: 1 }]);
    c.flush();
    const second = c.commit([o('o2')], [{ topic: input, partition: 0, offset: 2 }]);
    c.flush();
    c.prepare();
    await within(Promise.all([first, second]));
    const third = c.commit([o('o3')], [{ topic: input, partition: 0, offset: 3 }]);
    c.flush();
    await within(third);
    await p.close();
    const committed = await fetchStableOffsets(admin, group, [input], { timeoutMs: 30_000 });
    await admin.deleteTopics({ topics: [out] }).catch(() => {});
    await admin.disconnect();
    expect(committed[0]!.partitions.find((x) => x.partition === 0)!.offset).toBe('3');
  });

  it('records sent ahead of a commit commit with it; sent ahead of a discarded transaction, never', async () => {
    const { group, out, admin, o, p, c } = await oneOutput('ahead', 'i5');
    expect(p.canSendAhead).toBe(false);
    expect(c.sendAhead([o('none')])).toBe(false); // no transaction begun ahead: nothing sent
    c.prepare();
    expect(c.sendAhead([o('a1'), o('a2')])).toBe(true);
    const first = c.commit([o('a3')], [{ topic: input, partition: 0, offset: 3 }]);
    c.flush();
    await first;
    c.prepare();
    expect(c.sendAhead([o('discarded')])).toBe(true);
    p.discardAhead(); // its tasks were closed without committing
    const second = c.commit([o('b1')], [{ topic: input, partition: 0, offset: 4 }]);
    c.flush();
    await second;
    await p.close();
    await transactionsSettled(`${app}-i5`, group);
    const committed = await fetchStableOffsets(admin, group, [input], { timeoutMs: 30_000 });
    expect(committed[0]!.partitions.find((x) => x.partition === 0)!.offset).toBe('4');
    // Read committed up to the committed end, again while the last commit's marker may
    // still be on its way (it failed once in about ten runs without the barrier above).
    let keys: string[] = [];
    let end = 0;
    for (const t0 = Date.now(); !keys.includes('b1') && Date.now() - t0 < 10_000;) {
      end = (await endOffsets(admin, [out])).get(`${out}:0`)!;
      const read: string[] = [];
      await restoreChangelogs(kafka, `${app}-ahead-reader`, [
        {
          topic: out,
          partition: 0,
          fromOffset: 0,
          endOffset: end,
          apply: async (rs) => void read.push(...rs.map((x) => String(x.key))),
        },
      ]);
      keys = read;
      if (!keys.includes('b1')) await new Promise((r) => setTimeout(r, 200));
    }
    await admin.deleteTopics({ topics: [out] }).catch(() => {});
    await admin.disconnect();
    expect(keys, `read committed up to offset ${end}`).toEqual(['a1', 'a2', 'a3', 'b1']);
  });

  it('a failed transaction takes what was sent ahead with it: a later commit of another task never carries it', async () => {
    const { group, out, admin, o, p, c } = await oneOutput('ahead-fail', 'i6');
    const other = p.committer('0_1');
    // Task 0_0's commit fails (a record larger than the broker takes) ...
    const tooLarge = { ...o('too-large'), value: Buffer.alloc(2 << 20) };
    const failing = c.commit([tooLarge], [{ topic: input, partition: 0, offset: 1 }]);
    c.flush();
    // ... while the next transaction is begun ahead and 0_0's later outputs are sent into it,
    c.prepare();
    expect(c.sendAhead([o('ahead-of-failed')])).toBe(true);
    // and task 0_1, which had nothing in the failed transaction, commits after it.
    const later = other.commit([o('later')], [{ topic: input, partition: 1, offset: 1 }]);
    other.flush();
    expect(await failing.catch((e: unknown) => e)).toBeInstanceOf(MillraceError);
    // Before the fix this commit went through, carrying 'ahead-of-failed' (committed while
    // 0_0's offsets and state were rolled back: produced again by the rebuilt task).
    expect(await later.catch((e: unknown) => e)).toBeInstanceOf(MillraceError);
    p.discardAhead(); // the thread closes and rebuilds every task: commits are taken again
    await commit(p, '0_1', [o('rebuilt')], [{ topic: input, partition: 1, offset: 1 }]);
    await p.close();
    await transactionsSettled(`${app}-i6`, group);
    const end = (await endOffsets(admin, [out])).get(`${out}:0`)!;
    const keys: string[] = [];
    await restoreChangelogs(kafka, `${app}-ahead-fail-reader`, [
      {
        topic: out,
        partition: 0,
        fromOffset: 0,
        endOffset: end,
        apply: async (rs) => void keys.push(...rs.map((x) => String(x.key))),
      },
    ]);
    await admin.deleteTopics({ topics: [out] }).catch(() => {});
    await admin.disconnect();
    expect(keys).toEqual(['rebuilt']);
  });

  it('fences a zombie: once its transactional id is claimed again (the instance restarted), the old producer cannot commit', async () => {
    const zombie = instanceProducer(`${app}-i0`);
    await zombie.init();
    await commit(
      zombie,
      '0_0',
      [rec('k', 'from-zombie', 0)],
      [{ topic: input, partition: 0, offset: 1 }],
    );
    const successor = instanceProducer(`${app}-i0`);
    await successor.init();
    const err: unknown = await commit(
      zombie,
      '0_0',
      [rec('k', 'late-zombie', 0)],
      [{ topic: input, partition: 0, offset: 2 }],
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskMigratedError);
    await commit(
      successor,
      '0_0',
      [rec('k', 'successor', 0)],
      [{ topic: input, partition: 0, offset: 2 }],
    );
    await Promise.all([zombie.close(), successor.close()]);
    await transactionsSettled(`${app}-i0`);

    const admin = kafka.admin();
    await admin.connect();
    const committed = await fetchStableOffsets(admin, app, [input], { timeoutMs: 30_000 });
    const ends = await endOffsets(admin, [changelog]);
    await admin.disconnect();
    expect(committed[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('2');
    const applied: string[] = [];
    await restoreChangelogs(kafka, app, [
      {
        topic: changelog,
        partition: 0,
        fromOffset: 0,
        endOffset: ends.get(`${changelog}:0`)!,
        apply: async (r) => void applied.push(...r.map((x) => String(x.value))),
      },
    ]);
    expect(applied).toEqual(['from-zombie', 'successor']);
  });

  it('a transaction begun ahead of its commit (prepare) commits the same; one left open is aborted by the next owner', async () => {
    const eager = `${app}-eager`;
    const group = `${app}-eager-group`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: eager, numPartitions: 1 }],
    });
    const r = (k: string): OutgoingRecord => ({ ...rec(k, '1', 0), topic: eager });
    const offset = (o: number) => [{ topic: input, partition: 1, offset: o }];
    const p = instanceProducer(`${app}-i2`, group);
    // The requests each commit sends (kafkajs's instrumentation events).
    const sent: string[] = [];
    const producer = (p as unknown as { producer: Producer }).producer;
    producer.on(producer.events.REQUEST, (e) => sent.push(e.payload.apiName));
    const requestsOf = async (commit: () => Promise<unknown>) => {
      sent.length = 0;
      await commit();
      // (Metadata and coordinator look-ups, cached after the first, are left out.)
      return [...new Set(sent)].filter((a) => /Txn|Produce/.test(a)).sort();
    };
    await p.init();
    // Not prepared: the partitions and the offsets join in the commit's path.
    expect(await requestsOf(() => commit(p, '1_0', [r('a')], offset(3)))).toEqual([
      'AddOffsetsToTxn',
      'AddPartitionsToTxn',
      'EndTxn',
      'Produce',
      'TxnOffsetCommit',
    ]);
    p.prepare(); // joins eager:0 (written by the last transaction) and the group's offsets now
    await new Promise((res) => setTimeout(res, 200));
    expect(await requestsOf(() => commit(p, '1_0', [r('b')], offset(5)))).toEqual([
      'EndTxn',
      'Produce',
      'TxnOffsetCommit',
    ]);
    p.prepare(); // a transaction left open: never committed
    await new Promise((res) => setTimeout(res, 200));
    await p.close();
    const next = instanceProducer(`${app}-i2`, group);
    await next.init(); // claims the id, aborting what was left open
    next.prepare();
    await commit(next, '1_0', [r('c')], offset(9));
    await next.close();
    await transactionsSettled(`${app}-i2`, group);

    const committed = await fetchStableOffsets(admin, group, [input], { timeoutMs: 30_000 });
    expect(committed[0]!.partitions.find((x) => x.partition === 1)!.offset).toBe('9');
    const ends = await endOffsets(admin, [eager]);
    const keys: string[] = [];
    await restoreChangelogs(kafka, `${app}-eager-reader`, [
      {
        topic: eager,
        partition: 0,
        fromOffset: 0,
        endOffset: ends.get(`${eager}:0`)!,
        apply: async (rs) => void keys.push(...rs.map((x) => String(x.key))),
      },
    ]);
    await admin.deleteTopics({ topics: [eager] }).catch(() => {});
    await admin.disconnect();
    expect(keys).toEqual(['a', 'b', 'c']);
  });
});
