/**
 * Records stamped years ago (a replay, a backfill) against the broker's time retention.
 * The broker deletes a topic's records by their timestamps against its own clock: a window
 * store's changelog (`compact,delete`, a day's retention), a repartition topic and the
 * dead-letter topic would lose such records at its next retention check (the test broker
 * checks every 10 s; any broker does within minutes), while the app still needs them. So
 * changelog records are stamped no earlier than when they are written, repartition topics
 * keep records by no time and are purged once committed, and dead letters are stamped when
 * they are written (the record's time in a header). Exactly-once, across a restart without
 * local state that comes after a retention check: every window must still count each of
 * its records.
 */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import '../../processors/index.js';
import { DLQ_HEADERS } from '../../runtime/task/dead-letter.js';
import { TopologyBuilder, tumbling, type Windowed } from '../../topology/index.js';
import {
  createTopics,
  produce,
  readUntil,
  withAdmin,
  type ReadRecord,
} from '../support/kafka-helpers.js';
import { RETENTION_CHECK_INTERVAL_MS } from '../../deploy/local/kafka.js';
import { waitFor } from '../../deploy/local/proc.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { acrossRestart, caughtUp, eosConfig, withApp } from '../support/restarts.js';

const { run, kafka, dir } = useKafkaRun('it-old', 'millrace-old-ts-');

const T0 = Date.UTC(2023, 10, 14); // three years before these tests were written
const MINUTE = 60_000;
const PARTITIONS = 2;
/** Records before the restart: four and a half minutes. */
const HALF = 54;
/** The test broker's retention check, and a second. */
const RETENTION_CHECK_MS = RETENTION_CHECK_INTERVAL_MS + 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts per user and minute, the user taken from the value: a repartition first. */
function perMinute(app: string) {
  const b = new TopologyBuilder('old');
  b.stream<string, { user: string }>(`${app}-in`, { key: 'string', value: 'json' })
    .selectKey((r) => r.value.user, 'by-user')
    .groupByKey()
    .windowedBy(tumbling(MINUTE, 10 * MINUTE)) // the repartition interleaves two partitions' records
    .count({ name: 'per-minute', emit: 'every-update' })
    .to(`${app}-out`, { key: 'string', value: 'json' });
  return b.build(app);
}

describe('records from years ago', () => {
  it('keep their windows across a restart after the broker’s retention check; the repartition topic is purged as it is committed; dead letters stay', async () => {
    const app = `${run}-app`;
    const [input, output, repartition, changelog, dlq] = [
      `${app}-in`,
      `${app}-out`,
      `${app}-by-user-repartition`,
      `${app}-per-minute-store-changelog`,
      `${app}-dlq`,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: PARTITIONS },
      { topic: output, partitions: PARTITIONS },
    ]);

    // 3 users, a record every 5 s for 10 minutes: each minute of each user counts 12/3 = 4.
    // The restart comes in the middle of the fifth minute: its windows need the restored counts.
    const records = Array.from({ length: 120 }, (_, i) => ({
      key: `k${i % 7}`,
      value: JSON.stringify({ user: `u${i % 3}` }),
      timestamp: T0 + i * 5_000,
    }));
    const counts = (rs: typeof records) => {
      const m = new Map<string, number>();
      for (const r of rs) {
        const start = r.timestamp - (r.timestamp % MINUTE);
        const id = `${(JSON.parse(r.value) as { user: string }).user} ${start}`;
        m.set(id, (m.get(id) ?? 0) + 1);
      }
      return m;
    };
    const [firstHalf, expected] = [counts(records.slice(0, HALF)), counts(records)];
    const bad = { key: 'bad', value: 'not json', timestamp: T0 + 1 };
    await produce(kafka, input, [...records.slice(0, HALF), bad]);

    const startedAt = Date.now();
    const config = { ...eosConfig(app, path.join(dir, 'state')), repartitionPurgeInterval: 500 };
    const latest = (rs: ReadRecord[]) => {
      const last = new Map<string, number>();
      for (const r of rs) {
        const w = JSON.parse(r.value!) as Windowed<number>;
        last.set(`${r.key} ${w.window_start}`, w.value);
      }
      return last;
    };
    await acrossRestart(
      () => perMinute(app),
      config,
      async (streams) => {
        // Committed to the end of every source, the repartition topic's last commit marker
        // included; every record of the first half counted.
        await caughtUp(streams, 30_000);
        await readUntil(kafka, output, (rs) => sameCounts(latest(rs), firstHalf), 60_000);
        // The changelog's records: stamped when written, not in 2023.
        const logged = await readUntil(kafka, changelog, (rs) => rs.length >= 1, 30_000);
        expect(Math.min(...logged.map((r) => r.timestamp))).toBeGreaterThanOrEqual(startedAt);
        // The dead letter: stamped when written, its record's time in a header.
        const [letter] = await readUntil(kafka, dlq, (rs) => rs.length >= 1, 30_000);
        expect(letter!.timestamp).toBeGreaterThanOrEqual(startedAt);
        expect(letter!.headers[DLQ_HEADERS.timestamp]).toBe(String(bad.timestamp));
        // The repartition topic keeps records by no time, and is purged up to the committed offsets.
        const retention = await withAdmin(kafka, async (admin) => {
          const { resources } = await admin.describeConfigs({
            resources: [{ type: 2, name: repartition, configNames: ['retention.ms'] }],
            includeSynonyms: false,
          });
          return resources[0]!.configEntries[0]!.configValue;
        });
        expect(retention).toBe('-1');
        await waitFor(
          'the repartition topic purged to the committed offsets',
          () =>
            withAdmin(kafka, async (admin) => {
              const logs = await admin.fetchTopicOffsets(repartition);
              const [group] = await admin.fetchOffsets({ groupId: app, topics: [repartition] });
              const committed = new Map(group!.partitions.map((p) => [p.partition, p.offset]));
              const purged = logs.filter((p) => p.low !== '0');
              return purged.length > 0 && purged.every((p) => committed.get(p.partition) === p.low);
            }),
          { timeoutMs: 20_000 },
        );
      },
      async () => {
        let out: ReadRecord[] = [];
        await readUntil(
          kafka,
          output,
          (rs) => sameCounts(latest((out = rs)), expected),
          60_000,
        ).catch(() => {}); // the comparison shows what differs
        expect(Object.fromEntries(latest(out))).toEqual(Object.fromEntries(expected));
      },
      async () => {
        // The broker's retention check passes over the changelog, the repartition topic and
        // the dead letter before the second instance restores.
        await sleep(RETENTION_CHECK_MS);
        const dead = await readUntil(kafka, dlq, (rs) => rs.length >= 1, 10_000);
        expect(dead).toHaveLength(1);
        await produce(kafka, input, records.slice(HALF));
      },
    );
  });

  it('a repartition topic an older version created, kept by the broker’s retention: the instance says so and how to set it', async () => {
    const app = `${run}-older`;
    const repartition = `${app}-by-user-repartition`;
    await createTopics(kafka, [
      { topic: `${app}-in`, partitions: 1 },
      { topic: `${app}-out`, partitions: 1 },
    ]);
    // As millrace made them before: the broker's defaults (7 days' retention).
    await withAdmin(kafka, (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: repartition, numPartitions: 1 }],
      }),
    );
    const lines: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await withApp(perMinute(app), eosConfig(app, path.join(dir, 'older')), async () => {});
    } finally {
      stderr.mockRestore();
    }
    const warnings = lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as { level: string; msg: string; topic?: string }];
      } catch {
        return [];
      }
    });
    expect(warnings.filter((w) => w.topic === repartition)).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: expect.stringMatching(
          /has retention\.ms=604800000 where millrace creates it with -1; set it with: kafka-configs\.sh .* --add-config retention\.ms=-1/,
        ) as unknown,
      }),
    ]);
  });
});

const sameCounts = (got: Map<string, number>, want: Map<string, number>) =>
  got.size === want.size && [...want].every(([id, n]) => got.get(id) === n);
