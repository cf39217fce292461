/**
 * Interactive queries across instances on the real broker, every instance its own
 * `millrace run test/support/iq-app.ts` process (exactly-once, counts per key and per key
 * and minute). Two instances, then a third (scale-out), then one killed with SIGKILL: at
 * each stable point every key asked of every instance answers the owner's count, equal to
 * the input's; while the group moves tasks an answer is the exact count or a retriable
 * refusal, never another value. Windows of a key add up to its count; `millrace query`
 * finds the instances through the group and prints the same.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { QueryClient, QueryFailedError } from '../../runtime/query/index.js';
import type { KeyAnswer, PageAnswer, WindowEntry } from '../../runtime/query/index.js';
import { createTopics, deleteTopicsWithPrefix, produce } from '../support/kafka-helpers.js';
import { startChild, stopAll, type Child } from '../support/processes.js';

const run = `e2e-iq-${randomUUID().slice(0, 8)}`;
const APP = `${run}-app`;
const INPUT = `${run}-in`;
const PARTITIONS = 6;
const KEYS = 60;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-iq-'));
const exec = promisify(execFile);
let kafka: Kafka;

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: run });
  await createTopics(kafka, [{ topic: INPUT, partitions: PARTITIONS }]);
});
afterAll(async () => {
  await stopAll();
  await deleteTopicsWithPrefix(kafka, run);
  fs.rmSync(root, { recursive: true, force: true });
});

const env = () => ({
  IQ_INPUT: INPUT,
  MILLRACE_BOOTSTRAP_SERVERS: inject('kafkaBrokers').join(','),
  MILLRACE_SESSION_TIMEOUT: '4s',
});

interface Instance {
  child: Child;
  endpoint: string;
}

async function instance(name: string): Promise<Instance> {
  const child = startChild(
    name,
    'bin/millrace.js',
    [
      'run',
      'test/support/iq-app.ts',
      '--app-id',
      APP,
      '--guarantee',
      'exactly_once',
      '--state-dir',
      path.join(root, name),
      '--metrics-port',
      '0',
    ],
    env(),
  );
  const started = await child.waitFor((l) => l.event === 'started', 120_000);
  return { child, endpoint: new URL(String(started.queries)).host };
}

const expected = new Map<string, number>();
async function feed(n: number): Promise<void> {
  const records = Array.from({ length: n }, (_, i) => ({
    key: `user-${(i * 7) % KEYS}`,
    value: `e${i}`,
  }));
  await produce(kafka, INPUT, records);
  for (const r of records) expected.set(r.key, (expected.get(r.key) ?? 0) + 1);
}

/** Every key asked of `at`: its answer, or the refusal (retriable or not). */
async function askAll(
  at: Instance,
): Promise<Map<string, KeyAnswer<string, number> | QueryFailedError>> {
  const client = new QueryClient({ endpoints: [at.endpoint], retryForMs: 0 });
  const out = new Map<string, KeyAnswer<string, number> | QueryFailedError>();
  for (const k of expected.keys())
    out.set(
      k,
      await client.get<string, number>('counts-store', k).catch((e: unknown) => {
        if (e instanceof QueryFailedError) return e;
        throw e;
      }),
    );
  return out;
}

/** Answers are exact counts or retriable refusals; true when every key of every instance was exact. */
async function checkAnswers(instances: Instance[]): Promise<boolean> {
  let exact = true;
  for (const at of instances)
    for (const [k, a] of await askAll(at)) {
      if (a instanceof QueryFailedError) {
        expect(a.retriable, `${at.endpoint} ${k}: ${a.message}`).toBe(true);
        exact = false;
      } else if (a.value !== expected.get(k)) {
        // Input still being processed: the count may be lower, never higher.
        expect(a.value ?? 0, `${at.endpoint} ${k}`).toBeLessThan(expected.get(k)!);
        exact = false;
      }
    }
  return exact;
}

/** Waits for every instance to answer every key exactly, then checks who answered. */
async function settled(instances: Instance[], what: string): Promise<void> {
  const end = Date.now() + 120_000;
  while (!(await checkAnswers(instances))) {
    if (Date.now() > end) throw new Error(`answers never settled: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // Each key: the same owner, an active running task, on every instance.
  const owners = new Map<string, string>();
  for (const at of instances)
    for (const [k, a] of await askAll(at)) {
      const answer = a as KeyAnswer<string, number>;
      expect(answer.servedBy, `${what}: ${k} at ${at.endpoint}`).toMatchObject({
        role: 'active',
        stale: false,
      });
      expect(answer.value).toBe(expected.get(k));
      const owner = owners.get(k) ?? answer.servedBy.endpoint!;
      owners.set(k, owner);
      expect(answer.servedBy.endpoint, `${what}: owner of ${k}`).toBe(owner);
    }
  expect(new Set(owners.values())).toEqual(new Set(instances.map((i) => i.endpoint)));
}

describe('interactive queries across instances', () => {
  it('any instance answers any key with the owner’s count: two, then three instances, then one killed', async () => {
    await feed(3000);
    const a = await instance('a');
    const b = await instance('b');
    await settled([a, b], 'two instances');

    // Windows of a key add up to its count; paging through all entries gives every key once.
    const client = new QueryClient({ endpoints: [b.endpoint, a.endpoint] });
    for (const k of ['user-1', 'user-2', 'user-3']) {
      const w: PageAnswer<WindowEntry<string, number>> = await client.windows('per-minute-store', {
        key: k,
      });
      expect(w.results.reduce((n, x) => n + x.value, 0)).toBe(expected.get(k));
    }
    const keys: string[] = [];
    for await (const e of client.entries<string, number>('counts-store', { limit: 7 }))
      keys.push(e.key);
    expect(keys.sort()).toEqual([...expected.keys()].sort());

    // Scale-out: a third instance; more input while it joins.
    const c = await instance('c');
    await feed(2000);
    await settled([a, b, c], 'three instances');

    // kill -9 of one: the others take its tasks (restored from the changelogs), answer all.
    b.child.signal('SIGKILL');
    await b.child.exited;
    await feed(1000);
    await settled([a, c], 'after b was killed');

    // The CLI finds the instances through the group (the members' advertised endpoints).
    const cli = await exec(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/millrace.js',
        'query',
        'test/support/iq-app.ts',
        'counts-store',
        'user-5',
        '--app-id',
        APP,
        '--json',
      ],
      { env: { ...process.env, ...env() } },
    );
    expect(JSON.parse(cli.stdout)).toMatchObject({ key: 'user-5', value: expected.get('user-5') });
  }, 600_000);
});
