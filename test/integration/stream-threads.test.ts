/**
 * One instance of two stream threads (`millrace run --num-stream-threads 2`) on the real
 * broker, exactly-once: each thread is a member of the group with tasks of its own, the
 * instance's /metrics merges both threads' series (labelled `thread`), its /topology.json
 * lists every task once, its /stores answers every key from whichever thread holds it,
 * counts are exact, and after a SIGTERM the instance starts again and goes on counting
 * from where it stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { sumSamples } from '../../observability/metrics.js';
import { createTopics, produce, readUntil, valuesByKey } from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { startChild, stopAll, type Child } from '../support/processes.js';

const { run, kafka, dir: work } = useKafkaRun('it-threads', 'millrace-threads-', stopAll);
const app = `${run}-app`;
const [input, output] = [`${run}-in`, `${run}-out`];
const PARTITIONS = 4;
const KEYS = 10;
const topologyFile = path.join(work, 'topology.yaml');

beforeAll(async () => {
  await createTopics(kafka, [
    { topic: input, partitions: PARTITIONS },
    { topic: output, partitions: PARTITIONS },
  ]);
  fs.writeFileSync(
    topologyFile,
    [
      `name: ${run}`,
      'stores:',
      '  - { name: counts, kind: keyValue, keySerde: string, valueSerde: int64 }',
      'nodes:',
      `  - { source: in, topics: [${input}], keySerde: string, valueSerde: string }`,
      '  - { processor: count, type: count, parents: [in], options: { store: counts }, stores: [counts] }',
      `  - { sink: out, topic: ${output}, parents: [count], keySerde: string, valueSerde: json }`,
      '',
    ].join('\n'),
  );
});

function instance(name: string): Child {
  return startChild(name, 'bin/millrace.js', [
    'run',
    topologyFile,
    '--app-id',
    app,
    '--brokers',
    inject('kafkaBrokers').join(','),
    '--guarantee',
    'exactly_once',
    '--state-dir',
    path.join(work, 'state'),
    '--metrics-port',
    '0',
    '--num-stream-threads',
    '2',
  ]);
}

async function send(from: number, n: number): Promise<void> {
  await produce(
    kafka,
    input,
    Array.from({ length: n }, (_, j) => ({
      key: `k${(from + j) % KEYS}`,
      value: 'x',
      // A key's records in one partition (so one task counts them), spread over all four.
      partition: ((from + j) % KEYS) % PARTITIONS,
    })),
  );
}

/** The latest count per key in the output (read committed), once every key reached `perKey`. */
async function counts(perKey: number): Promise<Map<string, number>> {
  const records = await readUntil(kafka, output, (rs) => {
    const latest = valuesByKey(rs);
    return latest.size === KEYS && [...latest.values()].every((v) => Number(v.at(-1)) >= perKey);
  });
  return new Map([...valuesByKey(records)].map(([k, v]) => [k, Number(v.at(-1))]));
}

const scrape = async (c: Child, what: string) => {
  const base = String(c.lines.find((l) => l.event === 'started')?.status ?? '').replace(
    /\/topology$/,
    '',
  );
  return (await fetch(`${base}${what}`, { signal: AbortSignal.timeout(5000) })).text();
};

describe('millrace run --num-stream-threads 2', () => {
  it('two members with tasks of their own, metrics of both, exact counts, and a restart that goes on', async () => {
    const a = instance('a');
    const started = await a.waitFor((l) => l.event === 'started', 90_000);
    expect(started.streamThreads).toBe(2);
    // Both threads are members of the group, with tasks of their own, before records come
    // (a thread joining later would find them processed by the other).
    const admin = kafka.admin();
    await admin.connect();
    for (let i = 0; ; i++) {
      const { groups } = await admin.describeGroups([app]);
      const ready = await scrape(a, '/readyz').catch(() => '');
      if (groups[0]?.state === 'Stable' && groups[0].members.length === 2 && ready === 'ready\n')
        break;
      if (i > 300) throw new Error(`no stable group of the two threads: ${JSON.stringify(groups)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await admin.disconnect();
    await send(0, 400);
    expect(Object.fromEntries(await counts(40))).toEqual(
      Object.fromEntries(Array.from({ length: KEYS }, (_, k) => [`k${k}`, 40])),
    );

    // One /metrics: each thread's series, labelled, adding up to what was processed.
    const metrics = await scrape(a, '/metrics');
    expect(sumSamples(metrics, 'millrace_records_processed_total', 'thread="0"')).toBeGreaterThan(
      0,
    );
    expect(sumSamples(metrics, 'millrace_records_processed_total', 'thread="1"')).toBeGreaterThan(
      0,
    );
    expect(sumSamples(metrics, 'millrace_records_processed_total')).toBe(400);
    expect(sumSamples(metrics, 'millrace_node_process_resident_memory_bytes')).toBeGreaterThan(0);

    // Its status lists every task once, all running.
    const status = JSON.parse(await scrape(a, '/topology.json')) as {
      tasks: Array<{ id: string; state: string }>;
    };
    expect(status.tasks.map((t) => t.id).sort()).toEqual(['0_0', '0_1', '0_2', '0_3']);
    expect(status.tasks.every((t) => t.state === 'running')).toBe(true);

    // Interactive queries: every key from the instance's /stores, whichever thread holds it
    // (each thread is a member advertising a query server of its own). The input was
    // partitioned by hand (see send), so the lookups name the key's partition.
    const group = JSON.parse(await scrape(a, '/stores')) as {
      members: Array<{ endpoint: string | null; active: string[] }>;
    };
    const endpoints = group.members.map((m) => m.endpoint);
    expect(endpoints).toHaveLength(2);
    expect(new Set(endpoints).size).toBe(2);
    expect(group.members.flatMap((m) => m.active).sort()).toEqual(['0_0', '0_1', '0_2', '0_3']);
    const served = new Set<string>();
    for (let k = 0; k < KEYS; k++) {
      const answer = JSON.parse(
        await scrape(a, `/stores/counts/get?key=k${k}&partition=${k % PARTITIONS}`),
      ) as {
        value: number;
        servedBy: { endpoint: string; role: string };
      };
      expect(answer.value, `k${k}`).toBe(40);
      expect(answer.servedBy.role).toBe('active');
      served.add(answer.servedBy.endpoint);
    }
    expect(served.size).toBe(2); // both threads' stores answered
    const all = JSON.parse(await scrape(a, '/stores/counts/all?limit=100')) as {
      results: Array<{ key: string; value: number }>;
    };
    expect(all.results.map((r) => [r.key, r.value]).sort()).toEqual(
      Array.from({ length: KEYS }, (_, k) => [`k${k}`, 40]).sort(),
    );

    // Stopped and started again: it goes on from its committed offsets and state.
    a.signal('SIGTERM');
    expect(await a.exited).toBe(0);
    await send(400, 200);
    const b = instance('b');
    await b.waitFor((l) => l.event === 'started', 90_000);
    expect(Object.fromEntries(await counts(60))).toEqual(
      Object.fromEntries(Array.from({ length: KEYS }, (_, k) => [`k${k}`, 60])),
    );
    b.signal('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 240_000);
});
