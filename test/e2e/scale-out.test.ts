/**
 * Scale out the flagship while data flows, every part its own process: 1 → 2 → 3
 * instances of `millrace run apps/finnhub-vwap`, then one is stopped (SIGTERM). At each
 * stable point `millrace status --json` (Kafka's admin API) must show every task owned
 * by exactly one member, and every instance's own /topology.json must agree; at the end
 * the DuckDB tables written by `millrace sink` equal the independent computation.
 *
 * Each instance runs MILLRACE_E2E_STREAM_THREADS stream threads (1 here; 2 in
 * scale-out-2-threads.test.ts, which runs this file again): each thread is a member.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import type { Trade } from '../../processors/market/trade.js';
import {
  cleanUpRun,
  expectWarehouseEquals,
  oracleFromInput,
  pipelineProcesses,
  quiet,
  readAll,
} from '../support/pipeline-e2e.js';
import type { Child } from '../support/processes.js';

const PREFIX = `e2e-${randomUUID().slice(0, 8)}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const APP_ID = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
const START = Math.floor((Date.now() - 50 * 60_000) / 60_000) * 60_000;
const PARTITIONS = 6;
const THREADS = Number(process.env.MILLRACE_E2E_STREAM_THREADS ?? 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-scale-'));
const duckdbPath = path.join(dir, 'warehouse.duckdb');
const run = promisify(execFile);
let kafka: Kafka;

beforeAll(() => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'e2e-scale-out' });
});
afterAll(() => cleanUpRun(kafka, { prefix: PREFIX, appId: APP_ID, dir }));

interface Status {
  groupState: string;
  members: Array<{ memberId: string; clientId: string; tasks: string[] }>;
  tasks: Array<{ task: string; owners: string[] }>;
}

describe(`finnhub-vwap scaled out while data flows (${THREADS} stream thread${THREADS > 1 ? 's' : ''} per instance)`, () => {
  it('1 → 2 → 3 instances, then one stopped: each task on one member at every stable point, warehouse exact', async () => {
    const p = pipelineProcesses({
      prefix: PREFIX,
      appId: APP_ID,
      dir,
      partitions: PARTITIONS,
    });
    const env = p.env;
    const ingest = (seed: number, minute: number) =>
      p.ingest(seed, START + minute * 60_000, 6000, 100);
    const instance = (name: string) => p.instance(name, name, THREADS);
    const status = async (): Promise<Status> => {
      const { stdout } = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'bin/millrace.js',
          'status',
          'apps/finnhub-vwap',
          '--app-id',
          APP_ID,
          '--json',
        ],
        { env: { ...process.env, ...env } },
      );
      return JSON.parse(stdout) as Status;
    };
    const ALL = Array.from({ length: PARTITIONS }, (_, p) => `0_${p}`);
    /** Waits for a stable group of `instances` (their threads the members), each task one owner. */
    const stableWith = async (instances: number, running: Child[]) => {
      const n = instances * THREADS;
      const deadline = Date.now() + 90_000;
      let last: Status | undefined;
      for (;;) {
        last = await status();
        const owned = last.tasks.filter((t) => t.owners.length > 0).map((t) => t.task);
        const views = await Promise.all(running.map(ownTasks));
        if (
          last.groupState === 'Stable' &&
          last.members.length === n &&
          owned.length === PARTITIONS &&
          views.flat().length === PARTITIONS
        )
          break;
        if (Date.now() > deadline)
          throw new Error(
            `no stable group of ${n}: ${JSON.stringify(last)}\n` +
              running.map((c) => `--- ${c.name}:\n${c.stderr.join('').slice(-3000)}`).join('\n'),
          );
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const t of last.tasks) expect(t.owners, t.task).toHaveLength(1);
      expect(last.members.flatMap((m) => m.tasks).sort()).toEqual(ALL);
      for (const m of last.members) expect(m.tasks.length).toBeGreaterThan(0);
      // What each instance says it runs agrees: every task exactly once across the fleet.
      const views = await Promise.all(running.map(ownTasks));
      expect(views.flat().sort()).toEqual(ALL);
    };

    expect(await ingest(31, 0).exited).toBe(0);
    const sink = p.sink('sink', duckdbPath, `${APP_ID}-sink`);
    const a = instance('a');
    await a.waitFor((l) => l.event === 'started', 90_000);
    await stableWith(1, [a]);

    const feed2 = ingest(32, 4);
    const b = instance('b');
    await stableWith(2, [a, b]);
    expect(await feed2.exited).toBe(0);

    const feed3 = ingest(33, 8);
    const c = instance('c');
    await stableWith(3, [a, b, c]);
    expect(await feed3.exited).toBe(0);

    const feed4 = ingest(34, 12);
    b.signal('SIGTERM');
    expect(await b.exited).toBe(0);
    await stableWith(2, [a, c]);
    expect(await feed4.exited).toBe(0);

    const s = await serdes(inject('registryUrl'));
    const expected = await oracleFromInput(kafka, TOPICS.raw, s[SERDES.raw]);
    expect(expected.windows.length).toBeGreaterThan(50);
    const clean = await readAll(kafka, TOPICS.clean, expected.trades.length);
    const keys = clean.map((r) => {
      const t = s[SERDES.trade].deserialize(Buffer.from(r.value!, 'base64')) as Trade;
      return `${t.symbol}|${t.trade_timestamp}`;
    });
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(expected.trades.length);
    await readAll(kafka, TOPICS.vwap, expected.windows.length);

    await quiet(sink, 3000, 90_000);
    sink.signal('SIGTERM');
    expect(await sink.exited).toBe(0);
    for (const x of [a, c]) x.signal('SIGTERM');
    await Promise.all([a.exited, c.exited]);
    await expectWarehouseEquals(duckdbPath, expected);
  }, 600_000);
});

/** The tasks an instance reports running on its own /topology.json. */
async function ownTasks(c: Child): Promise<string[]> {
  const url = String(c.lines.find((l) => l.event === 'started')?.status ?? '');
  if (!url) return [];
  try {
    const res = await fetch(`${url}.json`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { tasks: Array<{ id: string; state: string }> };
    return body.tasks.filter((t) => t.state === 'running').map((t) => t.id);
  } catch {
    return [];
  }
}
