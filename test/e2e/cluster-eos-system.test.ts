/**
 * Kafka Streams' own exactly-once system test (apache/kafka
 * `tests/kafkatest/tests/streams/streams_eos_test.py`, `test_failure_and_recovery_complex`),
 * reproduced for millrace on a three-node cluster of this file's own:
 *
 *   a driver produces to `data` throughout (keys k0…k99, random integers, seeded);
 *   three instances start one after another;
 *   one is kill -9'd and restarted on its state, three times in rotation;
 *   then they are stopped one by one (SIGTERM), the last once it has caught up;
 *   a verifier (test/support/eos-verifier.ts, which imports nothing of millrace) checks
 *   every output against the input: a stateless echo, a per-key {count, sum, min, max}
 *   aggregate, and the same aggregate after a repartition (re-keyed to groups); and no
 *   transaction is left open on any output partition.
 *
 * The three parts run in one app, as the complex variant of Kafka's test does (its
 * simple variant is the same app without the repartition): each is checked on its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestCluster } from '../support/use-cluster.js';
import { KeyedFeeder, readTopic, until } from '../support/count-fleet.js';
import { eosOutputs } from '../support/eos-app.js';
import { verifyEos } from '../support/eos-verifier.js';
import { createTopics, readSettled, type ReadRecord } from '../support/kafka-helpers.js';
import { startChild, stopAll, type Child } from '../support/processes.js';

const run = `eos-${randomUUID().slice(0, 8)}`;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-eos-system-'));
const PARTITIONS = 5;
/** Two sub-topologies (before and after the repartition) of PARTITIONS tasks each. */
const TASKS = 2 * PARTITIONS;
const SEED = Number(process.env.EOS_TEST_SEED ?? 20261206);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the verifier of the exactly-once system test', () => {
  const rec = (key: string, value: unknown, offset: number): ReadRecord => ({
    partition: 0,
    offset,
    key,
    value: JSON.stringify(value),
    timestamp: 0,
    headers: {},
  });
  const input = [rec('k1', 5, 0), rec('k8', 2, 1), rec('k1', 3, 2)];
  const right = {
    echo: [rec('k1', 5, 0), rec('k8', 2, 1), rec('k1', 3, 2)],
    agg: [
      rec('k1', { count: 1, sum: 5, min: 5, max: 5 }, 0),
      rec('k8', { count: 1, sum: 2, min: 2, max: 2 }, 1),
      rec('k1', { count: 2, sum: 8, min: 3, max: 5 }, 2),
    ],
    // k1 and k8 are both in group g1; after the repartition their order may differ.
    regrouped: [
      rec('g1', { count: 1, sum: 2, min: 2, max: 2 }, 0),
      rec('g1', { count: 2, sum: 7, min: 2, max: 5 }, 1),
      rec('g1', { count: 3, sum: 10, min: 2, max: 5 }, 2),
    ],
  };

  it('passes right outputs and catches a lost, a duplicated and a wrong one', () => {
    expect(verifyEos(input, right).problems).toEqual([]);
    const lost = verifyEos(input, { ...right, echo: right.echo.slice(0, 2) }).problems;
    expect(lost).toHaveLength(1);
    const dup = verifyEos(input, { ...right, agg: [...right.agg, right.agg[2]!] }).problems;
    expect(dup).toHaveLength(1);
    const wrong = [...right.regrouped];
    wrong[1] = rec('g1', { count: 2, sum: 8, min: 2, max: 5 }, 1);
    expect(verifyEos(input, { ...right, regrouped: wrong }).problems).toHaveLength(1);
  });
});

describe("Kafka's exactly-once system test on three brokers", () => {
  const cluster = useTestCluster(async () => {
    await stopAll();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('driver throughout; three instances; kill -9 and restart three times in rotation; stopped one by one: every output right', async () => {
    const kafka = cluster.kafka(run);
    const app = `${run}-app`;
    const input = `${run}-data`;
    const outputs = eosOutputs(run);
    await createTopics(
      kafka,
      [input, ...Object.values(outputs)].map((topic) => ({ topic, partitions: PARTITIONS })),
    );
    const instances = new Map<string, Child>();
    const start = (name: string) => {
      const c = startChild(`${app}-${name}`, 'test/support/eos-worker.ts', [], {
        APP: app,
        INPUT: input,
        PREFIX: run,
        BROKERS: cluster.brokers.join(','),
        STATE_DIR: path.join(root, name),
        // A kill then finds a transaction open with a second of work in it, as Kafka's
        // test makes sure with its 5 s commit interval.
        COMMIT_INTERVAL: '1s',
        MILLRACE_REPLICATION_FACTOR: '3',
        LOG_LEVEL: 'info',
      });
      instances.set(name, c);
      return c;
    };
    const alive = () =>
      [...instances.values()].filter((c) => c.proc.exitCode === null && !c.proc.signalCode);
    const describeAll = () =>
      [...instances.values()]
        .map(
          (c) =>
            `--- ${c.name} pid ${c.pid}: ${JSON.stringify(c.lines.filter((l) => l.event).slice(-2))}\n` +
            c.stderr.join('').slice(-1500),
        )
        .join('\n');
    const runningOn = (c: Child) =>
      ([...c.lines].reverse().find((l) => l.event === 'tasks')?.tasks as string[]) ?? [];
    /** Every task running, each on one of `names`, every one of them busy. */
    const settledOn = async (...names: string[]) => {
      await until(
        () => {
          const per = names.map((n) => runningOn(instances.get(n)!));
          const all = per.flat();
          return all.length === TASKS && new Set(all).size === TASKS && per.every((t) => t.length);
        },
        `every task running on ${names.join(', ')}`,
        180_000,
        describeAll,
      );
      await sleep(3000); // let them process a while before the next step
    };

    let rnd = SEED;
    const next = () => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0), rnd);
    const driver = new KeyedFeeder(kafka, input, {
      perTick: 20,
      tickMs: 50,
      key: () => `k${(next() >>> 8) % 100}`,
      value: () => String((next() >>> 8) % 10000),
    });
    await driver.start();

    start('p1');
    await settledOn('p1');
    start('p2');
    await settledOn('p1', 'p2');
    start('p3');
    await settledOn('p1', 'p2', 'p3');
    for (const victim of ['p1', 'p2', 'p3']) {
      const others = ['p1', 'p2', 'p3'].filter((n) => n !== victim);
      instances.get(victim)!.signal('SIGKILL');
      await instances.get(victim)!.exited;
      await settledOn(...others);
      start(victim);
      await settledOn('p1', 'p2', 'p3');
    }
    const stop = async (name: string) => {
      const c = instances.get(name)!;
      c.signal('SIGTERM');
      await c.waitFor((l) => l.event === 'closed', 120_000);
      await c.exited;
    };
    await stop('p1');
    await settledOn('p2', 'p3');
    await stop('p2');
    await settledOn('p3');
    await driver.stop();
    const data = await readTopic(kafka, input);
    // The last instance stops once it has caught up: every input counted in `regrouped`.
    await readSettled(kafka, outputs.regrouped, { atLeast: data.length, quietMs: 500 }).catch(
      (err: Error) => {
        throw new Error(`the last instance did not catch up: ${err.message}\n${describeAll()}`);
      },
    );
    await stop('p3');
    expect(alive()).toEqual([]);
    const failures = [...instances.values()].flatMap((c) =>
      c.lines.filter((l) => l.event === 'failed').map((l) => `${c.name}: ${String(l.error)}`),
    );

    const out = {
      echo: await readSettled(kafka, outputs.echo, { atLeast: data.length }),
      agg: await readSettled(kafka, outputs.agg, { atLeast: data.length }),
      regrouped: await readSettled(kafka, outputs.regrouped, { atLeast: data.length }),
    };
    const report = verifyEos(data, out);
    console.log(
      `EOS system test (seed ${SEED}): ${report.inputs} inputs, outputs ${JSON.stringify(report.outputs)}, ` +
        `${report.problems.length} problems, ${driver.failedSends} failed driver sends`,
    );
    if (report.problems.length) {
      // Everything read, for whoever looks into it: one JSON line per record.
      const file = path.join(
        process.env.MILLRACE_TEST_LOG_DIR ?? os.tmpdir(),
        `eos-system-${run}-records.jsonl`,
      );
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(
        file,
        Object.entries({ data, ...out })
          .flatMap(([topic, rs]) => rs.map((r) => JSON.stringify({ topic, ...r })))
          .join('\n') + '\n',
      );
      console.log(`records written to ${file}`);
    }
    expect(failures, 'instances that failed').toEqual([]);
    expect(report.problems.slice(0, 20)).toEqual([]);
    expect(report.outputs).toEqual({
      echo: data.length,
      agg: data.length,
      regrouped: data.length,
    });
    expect(await cluster.openTransactions(Object.values(outputs))).toEqual([]);
  }, 900_000);
});
