/**
 * A stream-table join on the Kafka runtime (real broker): sources of unequal partition
 * counts are refused at start-up; clicks are enriched from a users table under
 * exactly-once; after the state directory is removed, the table is restored from its
 * changelog (the users topic is not read again: its offsets were committed), so clicks
 * produced after the restart still join with the right values.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import '../../processors/index.js';
import { StreamsApp } from '../../runtime/app.js';
import { TopologyBuilder } from '../../topology/index.js';
import { createTopics, produce, readUntil } from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';

const { run, kafka, dir: stateRoot } = useKafkaRun('it-join', 'millrace-join-');

const J = { key: 'string', value: 'json' };

function enrich(app: string) {
  const b = new TopologyBuilder('enrich');
  const users = b.table<string, { country: string }>(`${app}-users`, J, { name: 'users' });
  b.stream<string, { click: number }>(`${app}-clicks`, J, 'clicks')
    .leftJoin(users, (c, u) => ({ click: c.click, country: u?.country ?? null }), 'join')
    .to(`${app}-enriched`, J);
  return b.build(app);
}

/** The topics of enrich(app): the users table on `usersPartitions`, clicks and output on 4. */
const enrichTopics = (app: string, usersPartitions: number) =>
  createTopics(kafka, [
    { topic: `${app}-users`, partitions: usersPartitions },
    { topic: `${app}-clicks`, partitions: 4 },
    { topic: `${app}-enriched`, partitions: 4 },
  ]);

const countryOf = (user: number, version: number) => `c${(user * 7 + version) % 13}`;

describe('stream-table join on the runtime', () => {
  it('sources of one sub-topology with different partition counts: a start-up error naming both', async () => {
    const app = `${run}-mismatch`;
    await enrichTopics(app, 2);
    const streams = new StreamsApp(enrich(app), {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      stateDir: path.join(stateRoot, 'mismatch'),
    });
    await expect(streams.start()).rejects.toThrow(
      new RegExp(`not co-partitioned \\(${app}-users=2, ${app}-clicks=4\\)`),
    );
    await streams.close();
  });

  it('enriches clicks from the table (exactly-once), and after the state directory is removed restores the table from its changelog', async () => {
    const app = `${run}-enrich`;
    await enrichTopics(app, 4);
    const users = 60;
    // Two versions of every user's row (the second wins), and user 0 deleted.
    await produce(kafka, `${app}-users`, [
      ...Array.from({ length: users }, (_, u) => ({
        key: `u${u}`,
        value: JSON.stringify({ country: countryOf(u, 0) }),
      })),
      ...Array.from({ length: users }, (_, u) => ({
        key: `u${u}`,
        value: JSON.stringify({ country: countryOf(u, 1) }),
      })),
      { key: 'u0', value: null },
    ]);
    const stateDir = path.join(stateRoot, 'enrich');
    const config = {
      applicationId: app,
      bootstrapServers: inject('kafkaBrokers'),
      processingGuarantee: 'exactly_once' as const,
      stateDir,
    };
    const expectedFor = (from: number, n: number) =>
      new Map(
        Array.from({ length: n }, (_, i) => {
          const u = (from + i) % (users + 5); // u60..u64 are not in the table
          return [from + i, u === 0 || u >= users ? null : countryOf(u, 1)] as const;
        }),
      );
    const clicks = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        key: `u${(from + i) % (users + 5)}`,
        value: JSON.stringify({ click: from + i }),
      }));
    const joined = (records: Array<{ value: string | null }>) =>
      new Map(
        records.map((r) => {
          const v = JSON.parse(r.value!) as { click: number; country: string | null };
          return [v.click, v.country] as const;
        }),
      );
    const changelog = `${app}-users-store-changelog`;

    let streams = new StreamsApp(enrich(app), config);
    await streams.start();
    try {
      // The table is loaded before clicks exist: a task processes its partitions' records in
      // the order they arrive, not by timestamp (see docs/guide/topologies.md).
      await readUntil(kafka, changelog, (got) => new Set(got.map((r) => r.key)).size === users);
      await produce(kafka, `${app}-clicks`, clicks(0, 1000));
      const out = await readUntil(kafka, `${app}-enriched`, (got) => got.length >= 1000);
      expect(out).toHaveLength(1000);
      expect(joined(out)).toEqual(expectedFor(0, 1000));
    } finally {
      await streams.close();
    }

    fs.rmSync(stateDir, { recursive: true, force: true });
    streams = new StreamsApp(enrich(app), config);
    await streams.start();
    try {
      await produce(kafka, `${app}-clicks`, clicks(1000, 1000));
      const out = await readUntil(kafka, `${app}-enriched`, (got) => got.length >= 2000);
      expect(out).toHaveLength(2000);
      expect(joined(out)).toEqual(new Map([...expectedFor(0, 1000), ...expectedFor(1000, 1000)]));
    } finally {
      await streams.close();
    }
  });
});
