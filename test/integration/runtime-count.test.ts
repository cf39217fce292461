/**
 * The runtime end to end on the real broker, one instance, 8 partitions: a count-by-key
 * task (see test/support/count-app.ts) under both guarantees. The output must equal a
 * count done by the test; under exactly-once each key's counts appear 1, 2, … n exactly
 * once; a poison record goes to the dead-letter topic and the partition goes on.
 */
import { describe, expect, inject, it } from 'vitest';
import { StreamsApp } from '../../runtime/app.js';
import { countTopology } from '../support/count-app.js';
import {
  createTopics,
  produce,
  readUntil,
  recordsIn,
  valuesByKey,
  withAdmin,
} from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';

const { run, kafka, dir: stateDir } = useKafkaRun('it-count', 'millrace-count-');

function input(n: number, keys: number) {
  return Array.from({ length: n }, (_, i) => ({ key: `k${(i * 7919) % keys}`, value: `v${i}` }));
}

describe.each(['at_least_once', 'exactly_once'] as const)('count-by-key, %s', (guarantee) => {
  it('matches a count done by the test, and dead-letters a poison record without stopping', async () => {
    const app = `${run}-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`;
    const [inTopic, outTopic] = [`${app}-in`, `${app}-out`];
    await createTopics(kafka, [
      { topic: inTopic, partitions: 8 },
      { topic: outTopic, partitions: 8 },
    ]);
    const records = input(4000, 50);
    records.splice(1234, 0, { key: 'k1', value: 'poison' });
    await produce(kafka, inTopic, records);

    const streams = new StreamsApp(countTopology(inTopic, outTopic, stateDir), {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: guarantee,
      stateDir,
    });
    await streams.start();
    try {
      const expected = new Map<string, number>();
      for (const r of records)
        if (r.value !== 'poison') expected.set(r.key, (expected.get(r.key) ?? 0) + 1);
      const out = await readUntil(kafka, outTopic, (got) => {
        const last = new Map<string, number>();
        for (const r of got) last.set(r.key!, Math.max(last.get(r.key!) ?? 0, Number(r.value)));
        return [...expected].every(([k, n]) => last.get(k) === n);
      });
      const seqs = valuesByKey(out);
      for (const [k, n] of expected) {
        const seq = seqs.get(k)!.map(Number);
        expect(Math.max(...seq)).toBe(n);
        if (guarantee === 'exactly_once')
          expect(seq).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      }
      const dlq = await readUntil(kafka, `${app}-dlq`, (got) => got.length >= 1);
      expect(dlq.map((r) => r.value)).toEqual(['poison']);
      expect(dlq[0]!.headers['millrace.reason']).toBe('poison');
      expect([...streams.tasks.keys()].sort()).toEqual(
        Array.from({ length: 8 }, (_, i) => `0_${i}`),
      );
    } finally {
      await streams.close();
    }
  });
});

describe('maxBufferedRecords', () => {
  it('commits a task early when it has processed that many records, long before the interval', async () => {
    const app = `${run}-early`;
    const [inTopic, outTopic] = [`${app}-in`, `${app}-out`];
    await createTopics(kafka, [
      { topic: inTopic, partitions: 1 },
      { topic: outTopic, partitions: 1 },
    ]);
    await produce(kafka, inTopic, input(3000, 10));
    const streams = new StreamsApp(countTopology(inTopic, outTopic, stateDir), {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: 'exactly_once',
      // Without the early commit nothing would be visible (read_committed) for 10 minutes.
      commitInterval: '10m',
      maxBufferedRecords: 500,
      stateDir,
    });
    await streams.start();
    try {
      // The check runs after each fetched batch, so a commit holds at most the threshold
      // plus one batch.
      const out = await readUntil(kafka, outTopic, (got) => got.length >= 3000, 30_000);
      expect(out.length).toBe(3000);
      expect(streams.tasks.get('0_0')!.stats.commits).toBeGreaterThanOrEqual(1);
    } finally {
      await streams.close();
    }
  });
});

describe('commitWhenCaughtUp', () => {
  it.each([
    ['at_least_once', true],
    ['at_least_once', false],
    ['exactly_once', true],
  ] as const)(
    '%s, a 10 min commit interval, commitWhenCaughtUp %s: a burst is written and committed once processed when true, neither before the interval when false',
    async (guarantee, caughtUp) => {
      const app = `${run}-caught-up-${guarantee === 'exactly_once' ? 'eos' : 'alos'}-${caughtUp}`;
      const [inTopic, outTopic] = [`${app}-in`, `${app}-out`];
      await createTopics(kafka, [
        { topic: inTopic, partitions: 2 },
        { topic: outTopic, partitions: 2 },
      ]);
      const streams = new StreamsApp(countTopology(inTopic, outTopic, stateDir), {
        applicationId: app,
        bootstrapServers: inject('kafkaBrokers'),
        processingGuarantee: guarantee,
        commitInterval: '10m',
        commitWhenCaughtUp: caughtUp,
        stateDir,
      });
      await streams.start();
      try {
        // Fewer records than maxBufferedRecords: no early commit for their number.
        await produce(kafka, inTopic, input(300, 10));
        const committed = async () => {
          const [t] = await withAdmin(kafka, (admin) =>
            admin.fetchOffsets({ groupId: app, topics: [inTopic] }),
          );
          return t!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
        };
        const t0 = Date.now();
        let offsets = 0;
        while (Date.now() - t0 < 8000 && (offsets = await committed()) < 300)
          await new Promise((r) => setTimeout(r, 200));
        expect(offsets).toBe(caughtUp ? 300 : 0);
        // Outputs leave with the commit (at-least-once) or become visible with it to
        // read_committed readers (exactly-once): none before it.
        if (caughtUp)
          expect((await readUntil(kafka, outTopic, (got) => got.length >= 300, 8000)).length).toBe(
            300,
          );
        else expect(await recordsIn(kafka, outTopic)).toBe(0);
      } finally {
        await streams.close();
      }
    },
  );
});

describe('output topics', () => {
  it('refuses to start when an output topic does not exist, naming it and the fix', async () => {
    const app = `${run}-noout`;
    await createTopics(kafka, [{ topic: `${app}-in`, partitions: 2 }]);
    const streams = new StreamsApp(countTopology(`${app}-in`, `${app}-out`, stateDir), {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      stateDir,
    });
    await expect(streams.start()).rejects.toThrow(
      `output topic(s) ${app}-out do not exist; create them first`,
    );
    await streams.close();
  });

  it('exactly-once: commits that fail for a while (output topic deleted, then created again) are rolled back, the tasks rebuilt, and counting goes on exactly', async () => {
    const app = `${run}-gone-eos`;
    const [inTopic, outTopic] = [`${app}-in`, `${app}-out`];
    await createTopics(kafka, [
      { topic: inTopic, partitions: 1 },
      { topic: outTopic, partitions: 1 },
    ]);
    let failedCommits = 0;
    const streams = new StreamsApp(
      countTopology(inTopic, outTopic, stateDir),
      {
        applicationId: app,
        bootstrapServers: inject('kafkaBrokers'),
        processingGuarantee: 'exactly_once',
        commitInterval: '100ms',
        commitFailureTimeout: '90s',
        stateDir,
      },
      { onCommit: (_task, _s, ok) => void (ok ? 0 : failedCommits++) },
    );
    let failure: unknown;
    streams.onFailure((e) => (failure = e));
    await streams.start();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await produce(kafka, inTopic, input(100, 5));
      await readUntil(kafka, outTopic, (got) => got.length >= 100);
      await admin.deleteTopics({ topics: [outTopic] });
      await produce(kafka, inTopic, input(100, 5));
      const t0 = Date.now();
      while (failedCommits < 2 && Date.now() - t0 < 60_000)
        await new Promise((r) => setTimeout(r, 100));
      expect(failedCommits).toBeGreaterThanOrEqual(2);
      expect(failure).toBeUndefined();
      await createTopics(kafka, [{ topic: outTopic, partitions: 1 }]);
      await produce(kafka, inTopic, input(100, 5));
      // Keys k0..k4 have 60 records each. The 40 counts after the first 20 reach the new
      // topic once each, in order: what was rolled back was counted again from the
      // changelog's committed state, nothing twice.
      const got = await readUntil(
        kafka,
        outTopic,
        (rs) => rs.filter((r) => r.value === '60').length >= 5,
        120_000,
      );
      const byKey = valuesByKey(got);
      expect([...byKey.keys()].sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      for (const values of byKey.values())
        expect(values.map(Number)).toEqual(Array.from({ length: 40 }, (_, i) => 21 + i));
      expect(streams.state).toBe('running');
    } finally {
      await admin.disconnect();
      await streams.close();
    }
  });

  it.each(['at_least_once', 'exactly_once'] as const)(
    '%s: commits that keep failing (output topic deleted) stop the instance with the cause',
    async (guarantee) => {
      const app = `${run}-gone-${guarantee === 'exactly_once' ? 'eos' : 'alos'}-stop`;
      const [inTopic, outTopic] = [`${app}-in`, `${app}-out`];
      await createTopics(kafka, [
        { topic: inTopic, partitions: 1 },
        { topic: outTopic, partitions: 1 },
      ]);
      const streams = new StreamsApp(countTopology(inTopic, outTopic, stateDir), {
        applicationId: app,
        bootstrapServers: inject('kafkaBrokers'),
        processingGuarantee: guarantee,
        commitInterval: '200ms',
        commitFailureTimeout: '2s',
        stateDir,
      });
      const failed = new Promise<unknown>((resolve) => streams.onFailure(resolve));
      await streams.start();
      try {
        await produce(kafka, inTopic, input(100, 5));
        await readUntil(kafka, outTopic, (got) => got.length >= 100);
        const admin = kafka.admin();
        await admin.connect();
        await admin.deleteTopics({ topics: [outTopic] }).finally(() => admin.disconnect());
        await produce(kafka, inTopic, input(100, 5));
        const err = (await Promise.race([
          failed,
          new Promise((_, reject) => setTimeout(() => reject(new Error('still running')), 90_000)),
        ])) as Error;
        expect(err.message).toMatch(/^commits (of task 0_0 )?have failed for \d+ s: /);
        // The Kafka error of the last failure (under exactly-once, kafkajs may report the
        // partition it did not attempt rather than the deleted one).
        expect(err.message).toMatch(/does not host this topic-partition|did not attempt/);
        expect(streams.state).toBe('failed');
      } finally {
        await streams.close();
      }
    },
  );
});
