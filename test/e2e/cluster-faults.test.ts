/**
 * The runtime on a real three-node cluster (RF 3, min ISR 2) while brokers fail: one
 * `kill -9`'d mid-stream and restarted 20 s later; the transaction coordinator of an
 * instance's transactional id killed; the group coordinator of the app's group killed;
 * a rolling restart of all three, one at a time. The file starts its own cluster
 * (test/support/cluster.ts) beside the layer's single broker and shares it between its
 * tests; each test leaves every node up and every partition in sync.
 *
 * Two count-by-key apps read the same input while a producer keeps writing to it: one
 * exactly-once, one at-least-once, two instances each, every internal topic RF 3. They
 * are started once and ride through the four faults in turn (starting four instances per
 * fault cost more than the faults; an app that already lived through a fault meets the
 * next one). Each fault hits both apps at once, with the producer writing throughout it;
 * then the producer pauses and, against the input topic as it is: under exactly-once every
 * key's outputs are exactly 1, 2, … n; under at-least-once none is missing; every record
 * the producer saw acknowledged is in the input; and no instance stopped (a broker that is
 * down never stops an instance).
 *
 * And the flagship as a user runs it (ingest, two `millrace run apps/finnhub-vwap`, the
 * DuckDB sink) with a broker killed while trades flow: the tables equal the independent
 * computation, trades.dlq holds exactly the rule breakers and the late trades.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { useTestCluster } from '../support/use-cluster.js';
import { coordinatorPartition } from '../../connectors/kafka/coordinators.js';
import {
  CountApp,
  countOracle,
  KeyedFeeder,
  until,
  verifyCounts,
  type Guarantee,
} from '../support/count-fleet.js';
import { createTopics } from '../support/kafka-helpers.js';
import {
  expectWarehouseEquals,
  oracleFromInput,
  pipelineProcesses,
  quiet,
  readAll,
} from '../support/pipeline-e2e.js';
import { startChild, stopAll } from '../support/processes.js';
import type { Trade } from '../../processors/market/trade.js';

const run = `cf-${randomUUID().slice(0, 8)}`;
const PREFIX = `${run}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-cluster-faults-'));
const PARTITIONS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cluster = useTestCluster(async () => {
  await stopAll();
  fs.rmSync(root, { recursive: true, force: true });
});
afterEach(async () => {
  for (const id of cluster.nodeIds) if (!cluster.isUp(id)) await cluster.startNode(id);
  await cluster.awaitHealthy();
}, 300_000);

interface Scenario {
  input: string;
  apps: CountApp[];
  feeder: KeyedFeeder;
}

/**
 * The two apps' ids: their groups map to one partition of `__consumer_offsets`, so one
 * node is the group coordinator of both, whichever node leads it after the earlier faults.
 */
async function appIds(): Promise<Record<Guarantee, string>> {
  const partitions = (await cluster.partitions(['__consumer_offsets'])).length;
  if (!partitions) throw new Error('__consumer_offsets has no partitions yet');
  const at = (id: string) => coordinatorPartition(id, partitions);
  const eos = `${run}-eos`;
  let alos = '';
  for (let i = 0; at((alos = `${run}-alos-${i}`)) !== at(eos); i++);
  return { exactly_once: eos, at_least_once: alos };
}

/** Topics, the two apps, their instances running; the feed is started by each fault. */
async function prepare(): Promise<Scenario> {
  const kafka = cluster.kafka(run);
  const input = `${run}-in`;
  const ids = await appIds();
  await createTopics(kafka, [
    { topic: input, partitions: PARTITIONS },
    ...Object.values(ids).map((id) => ({ topic: `${id}-out`, partitions: PARTITIONS })),
  ]);
  const apps = (['exactly_once', 'at_least_once'] as const).map(
    (g) =>
      new CountApp(ids[g], input, `${ids[g]}-out`, g, () => cluster.brokers, root, {
        MILLRACE_REPLICATION_FACTOR: '3',
      }),
  );
  for (const app of apps) for (const n of ['a', 'b']) app.start(n);
  for (const app of apps)
    await until(
      () => app.allRunning(PARTITIONS),
      `${app.appId}: every task running, on both instances`,
      120_000,
      () => app.describe(),
    );
  return { input, apps, feeder: new KeyedFeeder(kafka, input) };
}

/** Acknowledged input records missing from their topic, per fault (checked by the last test). */
const ackLosses = new Map<string, { acked: number; inTopic: number; missing: string[] }>();

/**
 * Pauses the feed, then checks every app's output against the input topic: everything
 * since the apps started, so this fault's and the ones before it.
 */
async function verify(s: Scenario, fault: string): Promise<void> {
  await s.feeder.stop();
  const kafka = cluster.kafka(`${run}-verify`);
  const oracle = await countOracle(kafka, s.input, s.feeder.acked);
  ackLosses.set(fault, {
    acked: s.feeder.acked.length,
    inTopic: oracle.inputRecords,
    missing: oracle.ackedMissing,
  });
  console.log(
    `${fault}: ${s.feeder.acked.length} acknowledged, ${oracle.inputRecords} in the topic, ` +
      `${oracle.ackedMissing.length} acknowledged and missing, ${s.feeder.failedSends} failed sends so far`,
  );
  for (const app of s.apps) {
    // An app with no instance left cannot catch up: judge what it wrote, without waiting.
    const v = await verifyCounts(kafka, app.output, oracle, app.live().length ? 180_000 : 15_000);
    console.log(
      `${fault}, ${app.appId}: ${v.outputRecords} outputs, lost ${v.lost.length}, duplicated ${v.duplicated}, ` +
        `wrong sequences ${v.wrongSequences.length}, instances alive ${app.live().length}` +
        (app.guarantee === 'exactly_once' ? v.examples.map((e) => `\n  ${e}`).join('') : ''),
    );
    const what = `${fault}, ${app.appId}`;
    expect.soft(app.failures(), `${what}: instances that stopped`).toEqual([]);
    expect.soft(app.live().length, `${what}: instances alive\n${app.describe()}`).toBe(2);
    // What each instance said last: an app that stopped making progress says why there.
    const lostWhy = v.lost.length ? `\n${app.describe()}` : '';
    expect.soft(v.lost.slice(0, 20), `${what}: counts never output${lostWhy}`).toEqual([]);
    if (app.guarantee === 'exactly_once') {
      expect.soft(v.duplicated, `${what}: duplicated outputs`).toBe(0);
      expect.soft(v.wrongSequences, `${what}: keys whose counts are not 1…n`).toEqual([]);
    }
  }
}

/** The transactional id of instance `name` of `app` (its state directory names it). */
function transactionalId(app: CountApp, name: string): string {
  const file = path.join(root, app.appId, name, app.appId, '.process-id-0');
  return `${app.appId}-${fs.readFileSync(file, 'utf8').trim()}`;
}

describe('three brokers: faults while two apps (exactly-once, at-least-once) process', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await prepare();
  }, 300_000);
  afterEach(async () => {
    await s?.feeder.stop(); // paused already, unless the fault failed before verify
  });
  afterAll(async () => {
    await stopAll();
  }, 120_000);

  /**
   * With the feed running 4 s, the node `pick` names is `kill -9`'d, started again 20 s
   * later, and after 4 s more every app's output is checked.
   */
  async function killMidStream(fault: string, pick: () => Promise<[number, string]>) {
    await s.feeder.start();
    await sleep(4000);
    const [victim, what] = await pick();
    console.log(`killing node ${victim} (${what})`);
    await cluster.kill(victim);
    await sleep(20_000);
    await cluster.startNode(victim);
    await sleep(4000);
    await verify(s, fault);
  }

  it('a broker kill -9ed mid-stream and restarted 20 s later', () =>
    killMidStream('broker kill', async () => [
      await cluster.leaderOf(s.input, 0),
      `leader of ${s.input}-0`,
    ]));

  it('the transaction coordinator of an instance of the exactly-once app killed', () =>
    killMidStream('transaction coordinator kill', async () => {
      const txnId = transactionalId(s.apps[0]!, 'a');
      return [await cluster.transactionCoordinator(txnId), `transaction coordinator of ${txnId}`];
    }));

  it("the group coordinator of both apps' groups killed", () =>
    killMidStream('group coordinator kill', async () => {
      const [eos, alos] = s.apps.map((a) => a.appId);
      const victim = await cluster.groupCoordinator(eos!);
      expect(await cluster.groupCoordinator(alos!)).toBe(victim);
      return [victim, `group coordinator of ${eos} and ${alos}`];
    }));

  it('a rolling restart of all three brokers, one at a time', async () => {
    await s.feeder.start();
    await sleep(3000);
    for (const id of cluster.nodeIds) {
      console.log(`rolling restart: stopping node ${id}`);
      await cluster.stopNode(id);
      await cluster.startNode(id);
      await cluster.awaitHealthy();
      await sleep(2000);
    }
    await verify(s, 'rolling restart');
  }, 600_000);

  it('every input record the producer saw acknowledged was written (the faults above)', () => {
    expect(ackLosses.size, 'no fault was verified before this test').toBeGreaterThan(0);
    const lost = [...ackLosses].filter(([, l]) => l.missing.length);
    expect(
      lost.map(([t, l]) => `${t}: ${l.missing.length} of ${l.acked} (${l.missing.slice(0, 5)}…)`),
    ).toEqual([]);
  });
});

describe('three brokers: the pipeline', () => {
  it('the pipeline (ingest, two instances, DuckDB sink) with a broker kill -9ed while trades flow: tables and dead letters exact', async () => {
    const dir = path.join(root, 'pipeline');
    const appId = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
    const p = pipelineProcesses({
      brokers: cluster.brokers,
      registryUrl: inject('registryUrl'),
      prefix: PREFIX,
      appId,
      dir,
      partitions: 4,
    });
    const start = Math.floor((Date.now() - 40 * 60_000) / 60_000) * 60_000;
    const duckdbPath = path.join(dir, 'warehouse.duckdb');
    expect(await p.ingest(51, start, 4000, 100).exited).toBe(0);
    // The shortest session the sink takes: kafkajs rejoins as a new member after its
    // coordinator's broker dies, and the group waits out the old member's session first.
    const sink = p.sink('sink', duckdbPath, `${appId}-sink`, {
      MILLRACE_SINK_SESSION_TIMEOUT: '6s',
    });
    const a = p.instance('a');
    const b = p.instance('b');
    await Promise.all([a, b, sink].map((c) => c.waitFor((l) => l.event === 'started', 120_000)));
    // The second part at a real-time pace, so that it runs through the broker's absence.
    const second = startChild(
      'ingest-52',
      'bin/millrace.js',
      [
        'ingest',
        '--rate',
        '300',
        '--seed',
        '52',
        '--start',
        String(start + 6 * 60_000),
        '--duration',
        '35s',
        '--partitions',
        '4',
        '--quiet',
      ],
      p.env,
    );
    await sleep(5000);
    const victim = await cluster.leaderOf(TOPICS.raw, 0);
    console.log(`pipeline: killing node ${victim} (leader of ${TOPICS.raw}-0)`);
    await cluster.kill(victim);
    await sleep(20_000);
    await cluster.startNode(victim);
    expect(await second.exited).toBe(0);

    const kafka = cluster.kafka(`${run}-pipeline`);
    const s = await serdes(inject('registryUrl'));
    const expected = await oracleFromInput(kafka, TOPICS.raw, s[SERDES.raw]);
    expect(expected.trades.length).toBeGreaterThan(5000);
    expect(expected.deadLetters.some((d) => d.startsWith('late|'))).toBe(true);
    const clean = (await readAll(kafka, TOPICS.clean, expected.trades.length)).map(
      (r) => s[SERDES.trade].deserialize(Buffer.from(r.value!, 'base64')) as Trade,
    );
    expect(clean.length).toBe(expected.trades.length);
    expect((await readAll(kafka, TOPICS.vwap, expected.windows.length)).length).toBe(
      expected.windows.length,
    );
    const dlq = await readAll(kafka, TOPICS.dlq, expected.deadLetters.length);
    expect(
      dlq
        .map(
          (r) =>
            `${r.headers['millrace.reason']}|${r.headers['millrace.source.partition']}|${r.headers['millrace.source.offset']}`,
        )
        .sort(),
    ).toEqual([...expected.deadLetters].sort());
    // Until the sink has written at least every row (replays may write some twice), then quiet.
    const written = (table: string) =>
      sink.lines
        .filter((l) => l.event === 'batch')
        .reduce((n, l) => n + Number((l.tables as Record<string, number>)[table] ?? 0), 0);
    await until(
      () =>
        written('trades') >= expected.trades.length &&
        written('vwap_1m') >= expected.windows.length,
      'the sink has written every trade and window row',
      180_000,
      () => `trades ${written('trades')}, windows ${written('vwap_1m')}`,
    );
    await quiet(sink, 3000, 120_000);
    for (const c of [a, b, sink])
      expect(
        c.lines.filter((l) => l.event === 'failed'),
        `${c.name} failed`,
      ).toEqual([]);
    for (const c of [sink, a, b]) {
      c.signal('SIGTERM');
      expect(await c.exited, `${c.name} exit code`).toBe(0);
    }
    await expectWarehouseEquals(duckdbPath, expected);
  }, 600_000);
});
