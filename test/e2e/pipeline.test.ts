/**
 * The market-data pipeline as a user runs it, on the real broker and registry, each
 * command its own process: `millrace ingest` (synthetic feed, fixed seed) then
 * `millrace run apps/finnhub-vwap`. trades.clean must hold exactly the valid trades,
 * each (symbol, trade_timestamp) once — computed independently from the same feed —,
 * malformed frames must be in finnhub.dlq, rule breakers and late trades in trades.dlq
 * with their reasons, and the VWAP windows must be consistent with their trades. Asked
 * through interactive queries, the instance gives each symbol's last closed window (one of
 * vwap.1m's, none older than those already out) and its open windows (exactly the trades in them).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { parseFrame } from '../../connectors/finnhub/messages.js';
import { syntheticFeed } from '../../connectors/finnhub/synthetic.js';
import { brokenRule } from '../../processors/market/validate.js';
import type { Trade, VwapWindow } from '../../processors/market/trade.js';
import { QueryClient } from '../../runtime/query/index.js';
import { deleteTopicsWithPrefix } from '../support/kafka-helpers.js';
import { vwapInstance } from '../support/pipeline-e2e.js';
import { startChild, stopAll } from '../support/processes.js';

// Topics and app id of this run only (the app reads MILLRACE_TOPIC_PREFIX at import).
const PREFIX = `e2e-${randomUUID().slice(0, 8)}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const APP_ID = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
const FRAMES = 20_000;
const { SERDES, TOPICS, defaults, serdes } = await import('../../apps/finnhub-vwap/app.js');
// Event time starts half an hour ago, on a minute: outputs carry event time, and Kafka
// deletes records older than a topic's retention (7 days) within minutes of writing them.
const START = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
let kafka: Kafka;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-pipeline-'));

async function clean() {
  await deleteTopicsWithPrefix(kafka, PREFIX);
  await deleteTopicsWithPrefix(kafka, APP_ID);
}

beforeAll(async () => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'e2e-pipeline' });
  await clean();
});
afterAll(async () => {
  await stopAll();
  await clean();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

/** Reads a topic's raw records until `done` holds, then a quiet second more. */
async function readRaw(topic: string, done: (n: number) => boolean, timeoutMs = 90_000) {
  const consumer = kafka.consumer({
    groupId: `e2e-reader-${topic}-${Date.now()}`,
    maxWaitTimeInMs: 200,
  });
  const got: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }> =
    [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ key: message.key, value: message.value, headers });
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (!done(got.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  return got;
}

describe('finnhub-vwap pipeline, as a user runs it', () => {
  it('ingest → run: exact trades, dead letters with reasons, consistent windows', async () => {
    const env = {
      MILLRACE_BOOTSTRAP_SERVERS: inject('kafkaBrokers').join(','),
      MILLRACE_REGISTRY_URL: inject('registryUrl'),
      MILLRACE_TOPIC_PREFIX: PREFIX,
    };
    const ingest = startChild(
      'ingest',
      'bin/millrace.js',
      [
        'ingest',
        '--count',
        String(FRAMES),
        '--rate',
        '200',
        '--max-speed',
        '--seed',
        '11',
        '--start',
        String(START),
        '--partitions',
        '4',
      ],
      env,
    );
    expect(await ingest.exited).toBe(0);

    // The independent computation, from the same deterministic feed.
    let malformed = 0;
    const valid = new Map<string, number>();
    let invalid = 0;
    let n = 0;
    for (const f of syntheticFeed({ seed: 11, rate: 200, startMs: START, symbols: 50 })) {
      if (n++ >= FRAMES) break;
      const p = parseFrame(f.text, f.at);
      if (p.kind === 'reject') {
        malformed++;
        continue;
      }
      if (p.kind !== 'trades') continue;
      for (const m of p.messages) {
        for (const e of m.data) {
          const t: Trade = {
            uuid: '',
            trade_conditions: e.c?.join(',') ?? null,
            price: e.p,
            symbol: e.s,
            trade_timestamp: e.t,
            ingest_timestamp: m.ingest_timestamp,
            volume: e.v,
            type: 'trade',
          };
          if (brokenRule(t, { maxFutureMs: defaults.maxFutureMs })) invalid++;
          else if (!valid.has(`${e.s}|${e.t}`)) valid.set(`${e.s}|${e.t}`, e.p);
        }
      }
    }

    const run = vwapInstance('run', { appId: APP_ID, stateDir }, env);
    await run.waitFor((l) => l.event === 'started', 90_000);
    const s = await serdes(inject('registryUrl'));
    const cleanRecords = await readRaw(TOPICS.clean, (c) => c >= valid.size);
    const trades = cleanRecords.map((r) => s[SERDES.trade].deserialize(r.value!) as Trade);
    const keys = trades.map((t) => `${t.symbol}|${t.trade_timestamp}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(trades.length).toBe(valid.size);
    for (const t of trades) expect(valid.get(`${t.symbol}|${t.trade_timestamp}`)).toBe(t.price);

    const finnhubDlq = await readRaw(TOPICS.finnhubDlq, (c) => c >= malformed);
    expect(finnhubDlq.length).toBe(malformed);
    expect(finnhubDlq.every((r) => r.headers['millrace.reason'])).toBe(true);

    const dlq = await readRaw(TOPICS.dlq, (c) => c >= invalid);
    const reasons = new Set(dlq.map((r) => r.headers['millrace.reason']));
    expect(invalid).toBeGreaterThan(0);
    expect([...reasons].some((x) => x === 'price_not_positive')).toBe(true);
    expect(reasons.has('late')).toBe(true);

    const windows = (await readRaw(TOPICS.vwap, (c) => c >= 40)).map(
      (r) => s[SERDES.vwap].deserialize(r.value!) as VwapWindow,
    );
    expect(windows.length).toBeGreaterThanOrEqual(40);
    for (const w of windows) {
      expect(w.window_end - w.window_start).toBe(60_000);
      expect(w.trade_count).toBeGreaterThan(0);
      if (w.vwap !== null) {
        expect(w.vwap).toBeGreaterThanOrEqual(w.low - 1e-9);
        expect(w.vwap).toBeLessThanOrEqual(w.high + 1e-9);
      }
      const inWindow = trades.filter(
        (t) =>
          t.symbol === w.symbol &&
          t.trade_timestamp >= w.window_start &&
          t.trade_timestamp < w.window_end,
      );
      expect(inWindow.length).toBeGreaterThanOrEqual(w.trade_count);
    }
    await checkQueries(run.lines, windows, trades);
    run.signal('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

/**
 * The last closed window per symbol (vwap-last-store) and the open ones (vwap-store), live,
 * from the instance's query endpoint: each last window is one vwap.1m has (or gets), none
 * older than the windows read before asking; each open window counts exactly its trades.
 */
async function checkQueries(
  lines: Array<Record<string, unknown>>,
  before: VwapWindow[],
  trades: Trade[],
): Promise<void> {
  const started = lines.find((l) => l.event === 'started')!;
  const client = new QueryClient({ endpoints: [new URL(String(started.queries)).host] });
  const last = new Map<string, VwapWindow>();
  for await (const e of client.entries<string, VwapWindow>('vwap-last-store', { limit: 20 }))
    last.set(e.key, e.value);
  for (const w of before) expect(last.has(w.symbol), w.symbol).toBe(true);
  const s = await serdes(inject('registryUrl'));
  const out = (await readRaw(TOPICS.vwap, (c) => c >= before.length + 1, 10_000)).map(
    (r) => s[SERDES.vwap].deserialize(r.value!) as VwapWindow,
  );
  const key = (w: VwapWindow) => `${w.symbol}@${w.window_start}`;
  const emitted = new Map(out.map((w) => [key(w), w]));
  for (const [symbol, w] of last) {
    expect(emitted.get(key(w)), key(w)).toEqual(w);
    const newestBefore = Math.max(
      ...before.filter((b) => b.symbol === symbol).map((b) => b.window_start),
    );
    expect(w.window_start).toBeGreaterThanOrEqual(newestBefore);
  }
  let openWindows = 0;
  for (const symbol of [...last.keys()].slice(0, 5)) {
    const open = await client.windows<string, { count: number }>('vwap-store', { key: symbol });
    openWindows += open.results.length;
    for (const o of open.results) {
      expect(o.windowStart).toBeGreaterThan(last.get(symbol)!.window_start);
      const n = trades.filter(
        (t) =>
          t.symbol === symbol &&
          t.trade_timestamp >= o.windowStart &&
          t.trade_timestamp < o.windowEnd!,
      ).length;
      expect(o.value.count, `${symbol} open at ${o.windowStart}`).toBe(n);
    }
  }
  expect(openWindows).toBeGreaterThan(0);
}
