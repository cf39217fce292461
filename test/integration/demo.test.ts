/**
 * `millrace demo` watches every process it starts. With a live (Finnhub) feed there is no
 * backfill, and the demo once watched every process but the first — the ingest — so an
 * ingest that died went unnoticed. Here the ingest reads a stand-in Finnhub server, is
 * killed, and the demo must say so and stop the rest.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeFinnhubServer } from '../../connectors/finnhub/index.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { deleteTopicsWithPrefix } from '../support/kafka-helpers.js';
import { startChild, stopAll } from '../support/processes.js';

const RUN = randomUUID().slice(0, 8);
const PREFIX = `it-demo-${RUN}.`;
const APP_ID = `it-demo-${RUN}`;
const TOKEN = 'demo-test-token';
let server: FakeFinnhubServer;
let dir: string;

beforeAll(async () => {
  server = await FakeFinnhubServer.start({ token: TOKEN });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-demo-'));
});

afterAll(async () => {
  await stopAll();
  await server.close();
  const kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'it-demo-cleanup' });
  await deleteTopicsWithPrefix(kafka, PREFIX);
  await deleteTopicsWithPrefix(kafka, APP_ID);
  fs.rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('millrace demo', () => {
  it('with a live feed, says that the ingest died and stops everything it started', async () => {
    const [host, port] = inject('kafkaBrokers')[0]!.split(':');
    const demo = startChild(
      'demo',
      path.resolve('bin/millrace.js'),
      [
        'demo',
        '--metrics-port',
        '0',
        '--app-id',
        APP_ID,
        '--duckdb',
        path.join(dir, 'demo.duckdb'),
      ].concat(['--keep-infra']),
      {
        FINNHUB_TOKEN: TOKEN,
        FINNHUB_WS_URL: server.url,
        FINNHUB_SYMBOLS: 'AAPL,MSFT',
        MILLRACE_TOPIC_PREFIX: PREFIX,
        MILLRACE_KAFKA_PORT: port!,
        MILLRACE_REGISTRY_PORT: new URL(inject('registryUrl')).port,
      },
      [],
      dir,
    );
    expect(host).toBe('127.0.0.1');
    const started = await demo.waitFor(
      (l) => /^demo: started ingest/.test(String(l.text)),
      120_000,
    );
    const pids = Object.fromEntries<number>(
      [...String(started.text).matchAll(/([\w-]+) \(pid (\d+)\)/g)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    expect(Object.keys(pids)).toEqual(['ingest', 'instance-1', 'instance-2', 'sink']);
    const demoExited = demo.exited.then((code) => {
      // What the demo said last (which child exited, and why) is the failure's cause.
      const said = demo.stderr
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('demo: '));
      throw new Error(
        `the demo exited (${code}) before its ingest subscribed:\n${said.slice(-6).join('\n')}`,
      );
    });
    await Promise.race([server.subscribed(['AAPL', 'MSFT']), demoExited]);

    process.kill(pids.ingest!, 'SIGKILL');
    await demo.waitFor((l) => /^demo: ingest exited/.test(String(l.text)), 30_000);
    expect(await demo.exited).toBe(1);
    expect(Object.values(pids).filter(alive)).toEqual([]);
  }, 240_000);
});
