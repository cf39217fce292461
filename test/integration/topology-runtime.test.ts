/**
 * Built topologies on the Kafka runtime (real broker): count-by-key through the real
 * LevelDB store stack with its changelog, and a re-keying topology (selectKey then
 * count) split into two sub-topologies joined by a repartition topic, run by two
 * instances. Results must equal counts done by the test.
 */
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import '../../processors/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { TopologyBuilder, tumbling } from '../../topology/index.js';
import {
  createTopics,
  produce,
  readUntil,
  valuesByKey,
  type ReadRecord,
} from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { withApp } from '../support/restarts.js';

const { run, kafka, dir: stateDir } = useKafkaRun('it-topo', 'millrace-topo-');

const lastCounts = (records: Array<{ key: string | null; value: string | null }>) => {
  const m = new Map<string, number>();
  for (const r of records) m.set(r.key!, Math.max(m.get(r.key!) ?? 0, Number(r.value)));
  return m;
};

/** How often each key occurs: the count it must reach. */
const countsOf = (keys: string[]) => {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};

/** Reads `topic` until every key's newest count is the one `expected` says. */
const untilCounts = (topic: string, expected: Map<string, number>, timeoutMs?: number) =>
  readUntil(
    kafka,
    topic,
    (got) => [...expected].every(([k, n]) => lastCounts(got).get(k) === n),
    timeoutMs,
  );

/** Each key's outputs are 1, 2, … its count: every update once, none lost or repeated. */
function expectEveryCount(out: ReadRecord[], expected: Map<string, number>): void {
  for (const [k, n] of expected)
    expect(valuesByKey(out).get(k)!.map(Number)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
}

/**
 * `<run>-<name>-in` and `-out` on 8 partitions, a count by key from one to the other (its
 * store named `count`, emitting as `emit` says), and `n` records of 97 users on the input.
 */
async function countApp(name: string, n: number, emit?: 'on-commit') {
  const app = `${run}-${name}`;
  await createTopics(kafka, [
    { topic: `${app}-in`, partitions: 8 },
    { topic: `${app}-out`, partitions: 8 },
  ]);
  const b = new TopologyBuilder();
  b.stream(`${app}-in`, { key: 'string', value: 'string' })
    .groupByKey({ keySerde: 'string', valueSerde: 'string' })
    .count(emit ? { name: 'count', emit } : { name: 'count' })
    .to(`${app}-out`, { key: 'string', value: 'json' });
  const records = Array.from({ length: n }, (_, i) => ({
    key: `user-${(i * 31) % 97}`,
    value: `e${i}`,
  }));
  await produce(kafka, `${app}-in`, records);
  const config = {
    applicationId: app,
    bootstrapServers: inject('kafkaBrokers'),
    processingGuarantee: 'exactly_once' as const,
    stateDir,
  };
  return {
    app,
    topology: b.build(),
    records,
    expected: countsOf(records.map((r) => r.key)),
    config,
  };
}

describe('built topologies on the runtime', () => {
  it('count-by-key on 8 partitions with LevelDB stores and changelogs (exactly-once)', async () => {
    const { app, topology, expected, config } = await countApp('count', 5000);
    await withApp(topology, config, async () => {
      expectEveryCount(await untilCounts(`${app}-out`, expected), expected);
      // The changelog holds the final counts: what a restore would rebuild.
      const changelog = await readUntil(
        kafka,
        `${app}-count-store-changelog`,
        (got) => new Set(got.map((r) => r.key)).size >= expected.size,
        60_000,
        'latin1',
      );
      const lastByKey = new Map(changelog.map((r) => [r.key!, Buffer.from(r.value!, 'latin1')]));
      for (const [k, n] of expected) expect(Number(lastByKey.get(k)!.readBigInt64BE(0))).toBe(n);
      expect(new Set(changelog.map((r) => r.key)).size).toBe(expected.size);
    });
  });

  it("count with emit 'on-commit' (exactly-once): final counts exact, one output per key per commit", async () => {
    const { app, topology, records, expected, config } = await countApp(
      'oncommit',
      6000,
      'on-commit',
    );
    await withApp(topology, { ...config, commitInterval: '1s' }, async (streams) => {
      const out = await untilCounts(`${app}-out`, expected);
      const commits = [...streams.tasks.values()].reduce((n, t) => n + t.stats.commits, 0);
      for (const [k, n] of expected) {
        const seq = valuesByKey(out).get(k)!.map(Number);
        // Each commit carries a key's newest count once: strictly rising, ending at the total.
        for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThan(seq[i - 1]!);
        expect(seq.at(-1)).toBe(n);
      }
      // At most one record per key and commit: with a 1 s interval a handful of commits, not
      // one output per input record.
      expect(out.length).toBeLessThanOrEqual(commits * expected.size);
      expect(out.length).toBeLessThan(records.length / 4);
    });
  });

  it('selectKey then count: two sub-topologies through a repartition topic, two instances', async () => {
    const app = `${run}-rekey`;
    await createTopics(kafka, [
      { topic: `${app}-clicks`, partitions: 4 },
      { topic: `${app}-per-user`, partitions: 4 },
    ]);
    const build = () => {
      const b = new TopologyBuilder();
      b.stream(`${app}-clicks`, { key: 'string', value: 'json' })
        .selectKey((r) => (r.value as { user: string }).user, 'by-user')
        .groupByKey({ keySerde: 'string', valueSerde: 'json' })
        .count({ name: 'clicks' })
        .to(`${app}-per-user`, { key: 'string', value: 'json' });
      return b.build();
    };
    const clicks = Array.from({ length: 3000 }, (_, i) => ({
      key: `page-${i % 13}`,
      value: JSON.stringify({ user: `u${(i * 7) % 23}` }),
    }));
    await produce(kafka, `${app}-clicks`, clicks);
    const expected = countsOf(clicks.map((c) => (JSON.parse(c.value) as { user: string }).user));
    const config = {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: 'exactly_once' as const,
    };
    const a = new StreamsApp(build(), { ...config, stateDir: path.join(stateDir, 'a') });
    const bInst = new StreamsApp(build(), { ...config, stateDir: path.join(stateDir, 'b') });
    await Promise.all([a.start(), bInst.start()]);
    try {
      expectEveryCount(await untilCounts(`${app}-per-user`, expected, 90_000), expected);
      const owned = () =>
        [...a.tasks.values(), ...bInst.tasks.values()]
          .filter((t) => t.state === 'running')
          .map((t) => t.id)
          .sort();
      const all = ['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3'];
      for (let i = 0; i < 100 && JSON.stringify(owned()) !== JSON.stringify(all); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(owned()).toEqual(all);
      expect(a.tasks.size).toBeGreaterThan(0);
      expect(bInst.tasks.size).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.close(), bInst.close()]);
    }
  });

  it('sends an undecodable record, as its original bytes with the reason, to the dead-letter topic, and the partition goes on', async () => {
    const app = `${run}-poison`;
    await createTopics(kafka, [
      { topic: `${app}-in`, partitions: 2 },
      { topic: `${app}-out`, partitions: 2 },
    ]);
    const b = new TopologyBuilder();
    b.stream<string, { n: number }>(`${app}-in`, { key: 'string', value: 'json' })
      .mapValues((v) => v.n * 10)
      .to(`${app}-out`, { key: 'string', value: 'json' });
    await produce(kafka, `${app}-in`, [
      { key: 'a', value: JSON.stringify({ n: 1 }), partition: 0 },
      { key: 'a', value: '{this is not json', partition: 0 },
      { key: 'a', value: JSON.stringify({ n: 2 }), partition: 0 },
    ]);
    const config = {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: 'exactly_once' as const,
      stateDir,
    };
    await withApp(b.build(), config, async () => {
      const out = await readUntil(kafka, `${app}-out`, (got) => got.length >= 2);
      expect(out.map((r) => r.value)).toEqual(['10', '20']);
      const dlq = await readUntil(kafka, `${app}-dlq`, (got) => got.length >= 1);
      expect(dlq.map((r) => r.value)).toEqual(['{this is not json']);
      expect(dlq[0]!.headers).toMatchObject({
        'millrace.reason': 'deserialization_error',
        'millrace.source.topic': `${app}-in`,
        'millrace.source.partition': '0',
        'millrace.source.offset': '1',
      });
    });
  });

  it('a task that moves resumes the stream time committed with its offsets: a window closed before is not reopened', async () => {
    const app = `${run}-clock`;
    const [input, output] = [`${app}-in`, `${app}-out`];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const build = () => {
      const b = new TopologyBuilder();
      b.stream(input, { key: 'string', value: 'string' })
        .groupByKey({ keySerde: 'string', valueSerde: 'string' })
        .windowedBy(tumbling(10_000))
        .count({ name: 'w' })
        .to(output, { key: 'string', value: 'json' });
      return b.build();
    };
    const instance = (dir: string) =>
      new StreamsApp(build(), {
        applicationId: app,
        bootstrapServers: inject('kafkaBrokers'),
        processingGuarantee: 'exactly_once',
        stateDir: path.join(stateDir, dir),
      });
    // Recent event times (the broker's retention deletes old ones), aligned to the window.
    const base = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    const at = (ms: number, value: string) => ({ key: 'k', value, timestamp: base + ms });
    await produce(kafka, input, [at(1000, 'a'), at(2000, 'b'), at(15_000, 'c')]);
    const first = instance('a');
    await first.start();
    try {
      await readUntil(kafka, output, (got) => got.length >= 1);
    } finally {
      await first.close();
    }
    // Late for the window [base, base+10s), which closed at stream time base+15s; then a
    // record that closes the next window. The task resumes on another instance (its own,
    // empty state directory): only the committed stream time can tell that 'd' is late.
    await produce(kafka, input, [at(3000, 'd'), at(25_000, 'e')]);
    const second = instance('b');
    await second.start();
    try {
      const out = await readUntil(kafka, output, (got) => got.length >= 2);
      const windows = out.map(
        (r) => JSON.parse(r.value!) as { window_start: number; value: number },
      );
      expect(windows.slice(0, 2)).toEqual([
        { window_start: base, window_end: base + 10_000, value: 2 },
        { window_start: base + 10_000, window_end: base + 20_000, value: 1 },
      ]);
      const dlq = await readUntil(kafka, `${app}-dlq`, (got) => got.length >= 1);
      expect(dlq.map((r) => [r.value, r.headers['millrace.reason']])).toEqual([['d', 'late']]);
    } finally {
      await second.close();
    }
  });
});
