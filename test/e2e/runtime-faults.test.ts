/**
 * The runtime under faults, with instances as separate processes on the real broker:
 * scale-out while data flows, SIGKILL and restart, a state directory deleted while an
 * instance is down, and a zombie (SIGSTOP past the session timeout, then SIGCONT).
 * Each test reads the output read_committed and checks, for every key, the successive
 * counts: under exactly-once 1, 2, … n exactly once; under at-least-once none missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  createTopics,
  produce,
  readUntil,
  valuesByKey,
  type ReadRecord,
} from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { startChild, stopAll, type Child } from '../support/processes.js';

const { run, kafka, dir: root } = useKafkaRun('e2e-rt', 'millrace-e2e-', stopAll);
const KEYS = 40;

afterEach(async () => {
  await stopAll();
  watched = [];
});

interface Setup {
  app: string;
  input: string;
  output: string;
  expected: Map<string, number>;
  worker(name: string, stateDir: string, env?: Record<string, string>): Child;
  feed(n: number): Promise<void>;
}

async function setup(name: string, guarantee: 'exactly_once' | 'at_least_once'): Promise<Setup> {
  const app = `${run}-${name}`;
  const input = `${app}-in`;
  const output = `${app}-out`;
  await createTopics(kafka, [
    { topic: input, partitions: 8 },
    { topic: output, partitions: 8 },
  ]);
  const expected = new Map<string, number>();
  let i = 0;
  return {
    app,
    input,
    output,
    expected,
    worker: (wname, stateDir, env = {}) => {
      const c = startChild(wname, 'test/support/count-worker.ts', [], {
        APP: app,
        INPUT: input,
        OUTPUT: output,
        STATE_DIR: stateDir,
        GUARANTEE: guarantee,
        BROKERS: inject('kafkaBrokers').join(','),
        LOG_LEVEL: 'info',
        ...env,
      });
      watched.push(c);
      return c;
    },
    feed: async (n) => {
      const batch = Array.from({ length: n }, () => {
        const key = `k${(i++ * 7919) % KEYS}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        return { key, value: `v${i}` };
      });
      await produce(kafka, input, batch);
    },
  };
}

/**
 * The oracle is the input topic as it is, not what the test meant to send: a producer
 * retry that wrote a batch twice (kafkajs's idempotence does not cover every retry) adds
 * input records, and exactly-once means each input record is counted once.
 */
async function expectedFromInput(s: Setup): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(s.input).finally(() => admin.disconnect());
  const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const input = await readUntil(kafka, s.input, (got) => got.length >= total, 60_000);
  const counted = new Map<string, number>();
  for (const r of input) counted.set(r.key!, (counted.get(r.key!) ?? 0) + 1);
  const sent = [...s.expected.values()].reduce((a, b) => a + b, 0);
  if (input.length !== sent)
    console.warn(`${s.input}: ${input.length} records in the topic, ${sent} sent by the test`);
  s.expected.clear();
  for (const [k, n] of counted) s.expected.set(k, n);
}

/** Reads until every key reached its expected count, then checks the sequences. */
async function verify(s: Setup, exactlyOnce: boolean): Promise<ReadRecord[]> {
  await expectedFromInput(s);
  const out = await readUntil(
    kafka,
    s.output,
    (got) => {
      const max = new Map<string, number>();
      for (const r of got) max.set(r.key!, Math.max(max.get(r.key!) ?? 0, Number(r.value)));
      return [...s.expected].every(([k, n]) => (max.get(k) ?? 0) >= n);
    },
    120_000,
  );
  const seqs = valuesByKey(out);
  for (const [k, n] of s.expected) {
    const seq = seqs.get(k)!.map(Number);
    if (exactlyOnce) expect(seq, `key ${k}`).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    else for (let c = 1; c <= n; c++) expect(seq, `key ${k} lost count ${c}`).toContain(c);
  }
  return out;
}

const tasksOf = (c: Child) => {
  const last = [...c.lines].reverse().find((l) => l.event === 'tasks');
  return (last?.tasks as string[] | undefined) ?? [];
};

let watched: Child[] = [];

async function until(cond: () => boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      const detail = watched
        .map(
          (c) =>
            `${c.name}: ${JSON.stringify(c.lines.filter((l) => l.event).slice(-3))}\n${c.stderr.join('').slice(-3000)}`,
        )
        .join('\n');
      throw new Error(`timed out waiting for ${what}\n${detail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ALL = Array.from({ length: 8 }, (_, i) => `0_${i}`);

/** Waits until `a` and `b` both run tasks, and the eight between them. */
const sharing = (a: Child, b: Child, what = 'two instances sharing tasks') =>
  until(
    () =>
      tasksOf(a).length > 0 && tasksOf(b).length > 0 && tasksOf(a).length + tasksOf(b).length === 8,
    what,
  );

describe('runtime under faults (separate processes)', () => {
  it('scales out: a second instance joins mid-stream, tasks split without overlap, counts stay exact (exactly-once)', async () => {
    const s = await setup('scale', 'exactly_once');
    const a = s.worker('a', path.join(root, 'scale-a'));
    await a.waitFor((l) => l.event === 'tasks' && (l.tasks as string[]).length === 8);
    await s.feed(3000);
    const b = s.worker('b', path.join(root, 'scale-b'));
    await s.feed(2000);
    await sharing(a, b, 'tasks split between a and b');
    expect([...tasksOf(a), ...tasksOf(b)].sort()).toEqual(ALL);
    await s.feed(3000);
    await verify(s, true);
  });

  it.each(['exactly_once', 'at_least_once'] as const)(
    'survives SIGKILL of one of two instances and its restart (%s)',
    async (guarantee) => {
      const s = await setup(`kill-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`, guarantee);
      const a = s.worker('a', path.join(root, `kill-${guarantee}-a`));
      const b = s.worker('b', path.join(root, `kill-${guarantee}-b`));
      await sharing(a, b);
      const feeding = (async () => {
        for (let i = 0; i < 10; i++) {
          await s.feed(800);
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      await new Promise((r) => setTimeout(r, 600));
      b.signal('SIGKILL');
      await b.exited;
      const b2 = s.worker('b2', path.join(root, `kill-${guarantee}-b`));
      await feeding;
      await until(
        () => tasksOf(a).length + tasksOf(b2).length === 8 && tasksOf(b2).length > 0,
        'the restarted instance taking tasks back',
        90_000,
      );
      await verify(s, guarantee === 'exactly_once');
    },
  );

  it.each(['exactly_once', 'at_least_once'] as const)(
    'a crash after the stores were written and before the commit was sent leaves state consistent with the outputs (%s)',
    async (guarantee) => {
      const s = await setup(`torn-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`, guarantee);
      const dir = path.join(root, `torn-${guarantee}`);
      // The first commit with records dies between the local store write and the send:
      // the restarted instance must not count from the local state, which is ahead.
      const a = s.worker('a', dir, { KILL_AT_FLUSH: '1' });
      await a.waitFor((l) => l.event === 'tasks' && (l.tasks as string[]).length === 8);
      await s.feed(2000);
      await a.exited;
      const a2 = s.worker('a2', dir);
      await a2.waitFor((l) => l.event === 'tasks' && (l.tasks as string[]).length === 8);
      await s.feed(1000);
      await verify(s, guarantee === 'exactly_once');
    },
  );

  it('rebuilds a deleted state directory from the changelog (exactly-once)', async () => {
    const s = await setup('wipe', 'exactly_once');
    const dir = path.join(root, 'wipe-a');
    const a = s.worker('a', dir);
    await a.waitFor((l) => l.event === 'tasks' && (l.tasks as string[]).length === 8);
    await s.feed(2000);
    await verify(s, true);
    a.signal('SIGTERM');
    await a.waitFor((l) => l.event === 'closed');
    fs.rmSync(dir, { recursive: true, force: true });
    const a2 = s.worker('a2', dir);
    await a2.waitFor((l) => l.event === 'tasks' && (l.tasks as string[]).length === 8);
    await s.feed(2000);
    await verify(s, true);
  });

  it('fences a zombie: an instance stopped past its session timeout cannot commit when it wakes (exactly-once)', async () => {
    const s = await setup('zombie', 'exactly_once');
    // A commits rarely, so it holds uncommitted work when it is stopped: when it wakes it
    // tries to commit that work and must be fenced.
    const a = s.worker('a', path.join(root, 'zombie-a'), {
      SESSION_TIMEOUT: '3s',
      COMMIT_INTERVAL: '5s',
    });
    const b = s.worker('b', path.join(root, 'zombie-b'), { SESSION_TIMEOUT: '3s' });
    await sharing(a, b);
    await s.feed(1500);
    await until(() => a.lines.length > 0 && tasksOf(a).length > 0, 'a running');
    await new Promise((r) => setTimeout(r, 1000));
    a.signal('SIGSTOP');
    await s.feed(1500);
    await until(
      () => tasksOf(b).length === 8,
      'b taking over every task while a is stopped',
      60_000,
    );
    await s.feed(1500);
    a.signal('SIGCONT');
    await s.feed(1500);
    await verify(s, true);
    // The zombie either tried to commit and was fenced, or learned on rejoining that it had
    // been expelled; both ways it dropped its uncommitted work (the sequences above prove
    // nothing of it was committed).
    await until(
      () => /task fenced|expelled from the group/.test(a.stderr.join('')),
      'a reporting that it was fenced',
      30_000,
    );
  });
});
