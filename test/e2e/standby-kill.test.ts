/**
 * Standby replicas when the owner is `kill -9`'d (the integration test's take-over is a
 * graceful close). Two exactly-once count instances, each its own process, with one
 * standby replica: once each keeps a caught-up copy of the other's tasks, the owner of
 * half the tasks is killed; the survivor runs every task, restoring only the little its
 * copies lacked instead of the changelogs, and the counts stay exactly 1…n per key as
 * more input comes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { countOracle, KeyedFeeder, until, verifyCounts } from '../support/count-fleet.js';
import { createTopics, deleteTopicsWithPrefix, withAdmin } from '../support/kafka-helpers.js';
import { startChild, stopAll, type Child } from '../support/processes.js';

const run = `e2e-standby-${randomUUID().slice(0, 8)}`;
const [input, output, app] = [`${run}-in`, `${run}-out`, `${run}-app`];
const changelog = `${app}-counts-store-changelog`;
const PARTITIONS = 4;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-standby-kill-'));
let kafka: Kafka;

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: run });
  await createTopics(kafka, [
    { topic: input, partitions: PARTITIONS },
    { topic: output, partitions: PARTITIONS },
  ]);
});
afterAll(async () => {
  await stopAll();
  await deleteTopicsWithPrefix(kafka, run);
  fs.rmSync(root, { recursive: true, force: true });
});

const instance = (name: string): Child =>
  startChild(`standby-${name}`, 'test/support/standby-worker.ts', [], {
    APP: app,
    INPUT: input,
    OUTPUT: output,
    STATE_DIR: path.join(root, name),
    BROKERS: inject('kafkaBrokers').join(','),
  });

interface Report {
  tasks: string[];
  restored: Record<string, number>;
  standbys: Record<string, number | null>;
}
const latest = (c: Child): Report | undefined =>
  [...c.lines].reverse().find((l) => l.event === 'tasks') as Report | undefined;

/** Changelog records per partition (its end offsets). */
async function changelogEnds(): Promise<Map<number, number>> {
  const offsets = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(changelog));
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

describe('standby replicas through a kill -9', () => {
  it('the survivor takes the killed owner’s tasks from its standbys and the counts stay exact', async () => {
    const a = instance('a');
    const b = instance('b');
    const both = [a, b];
    await until(
      () => both.every((c) => latest(c)?.tasks.length === PARTITIONS / 2),
      'both instances running two tasks each',
      120_000,
      () => JSON.stringify(both.map(latest)),
    );
    const feeder = new KeyedFeeder(kafka, input, { keys: 40, rate: 1000 });
    await feeder.start();
    await new Promise((r) => setTimeout(r, 8000));
    await feeder.stop();
    // Each standby has read the other's committed changelog to its end.
    const victimTasks = latest(a)!.tasks;
    await until(
      () => victimTasks.every((id) => latest(b)?.standbys[id] === 0),
      'b’s standbys of a’s tasks caught up',
      60_000,
      () => JSON.stringify(latest(b)),
    );
    await new Promise((r) => setTimeout(r, 2000)); // a's last commit, read by b's standbys
    const ends = await changelogEnds();
    const victimRecords = victimTasks.reduce(
      (n, id) => n + (ends.get(Number(id.split('_')[1])) ?? 0),
      0,
    );
    expect(victimRecords).toBeGreaterThan(100);

    a.signal('SIGKILL');
    const killedAt = Date.now();
    await until(
      () => latest(b)?.tasks.length === PARTITIONS,
      'b running every task',
      60_000,
      () => JSON.stringify(latest(b)),
    );
    const tookOverMs = Date.now() - killedAt;
    const restored = victimTasks.reduce((n, id) => n + (latest(b)!.restored[id] ?? 0), 0);
    console.log(
      `standby take-over after kill -9: ${tookOverMs} ms (session timeout 6 s); restored ${restored} of the ${victimRecords} changelog records of the killed owner's tasks`,
    );
    // From the copies, not the changelogs (those hold every update of the run).
    expect(restored).toBeLessThan(victimRecords / 10);

    await feeder.start();
    await new Promise((r) => setTimeout(r, 4000));
    await feeder.stop();
    const oracle = await countOracle(kafka, input, feeder.acked);
    const v = await verifyCounts(kafka, output, oracle, 120_000);
    expect(oracle.ackedMissing).toEqual([]);
    expect(v.lost.slice(0, 10)).toEqual([]);
    expect(v.duplicated).toBe(0);
    expect(v.wrongSequences).toEqual([]);
    expect(b.lines.filter((l) => l.event === 'failed')).toEqual([]);
  }, 300_000);
});
