import { afterEach, describe, expect, it } from 'vitest';
import { FinnhubAuthError } from './errors.js';
import { FakeFinnhubServer } from './fake-server.js';
import { jsonLogger } from './log.js';
import { CountingMetrics } from './metrics.js';
import { MemorySink } from './sink.js';
import type { TradeMessage } from './types.js';
import { FinnhubWebSocketSource } from './ws-source.js';

const TOKEN = 'unit-test-token-5ecret';
const servers: FakeFinnhubServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(token = TOKEN) {
  const s = await FakeFinnhubServer.start({ token });
  servers.push(s);
  return s;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

function start(
  url: string,
  sink:
    MemorySink | { accept: (m: TradeMessage) => Promise<void>; deadLetter: () => Promise<void> },
  extra: object = {},
) {
  const lines: string[] = [];
  const metrics = new CountingMetrics();
  const ac = new AbortController();
  const source = new FinnhubWebSocketSource({
    config: {
      url,
      token: TOKEN,
      symbols: ['AAPL', 'BINANCE:BTCUSDT'],
      reconnect: { initialMs: 20, maxMs: 100 },
      idleTimeoutMs: 5000,
    },
    sink,
    metrics,
    logger: jsonLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...extra,
  });
  const done = source.run(ac.signal);
  return { source, done, ac, lines, metrics };
}

describe('Finnhub WebSocket source (local server)', () => {
  it('subscribes, splits frames by symbol, counts pings and errors, dead-letters bad frames, and comes back after drops', async () => {
    const srv = await server();
    const sink = new MemorySink();
    const { source, done, ac, lines, metrics } = start(srv.url, sink);
    await srv.subscribed(['AAPL', 'BINANCE:BTCUSDT']);
    await srv.send('{"type":"ping"}');
    await srv.send(
      '{"type":"trade","data":[{"s":"AAPL","p":1,"t":1,"v":1},{"s":"BINANCE:BTCUSDT","p":2,"t":2,"v":0.1},{"s":"AAPL","p":3,"t":3,"v":2}]}',
    );
    await srv.send('{"type":"error","msg":"Subscribing to too many symbols"}');
    await srv.send('not json at all');
    await until(() => source.summary.frames === 4);
    srv.drop();
    await until(() => srv.connections === 2);
    await srv.subscribed(['AAPL', 'BINANCE:BTCUSDT']);
    await srv.send('{"type":"mystery"}');
    srv.drop();
    await until(() => srv.connections === 3);
    await srv.subscribed(['AAPL', 'BINANCE:BTCUSDT']);
    await srv.send('{"type":"trade","data":[{"s":"AAPL","p":4,"t":4,"v":1}]}');
    await until(() => sink.messages.length === 3);
    ac.abort();
    const summary = await done;

    expect(sink.messages.map((m) => m.data.map((d) => `${d.s}@${d.t}`))).toEqual([
      ['AAPL@1', 'AAPL@3'],
      ['BINANCE:BTCUSDT@2'],
      ['AAPL@4'],
    ]);
    expect(sink.deadLetters.map((d) => [d.bytes.toString(), d.reason, d.source])).toEqual([
      ['not json at all', 'not_json', 'finnhub'],
      ['{"type":"mystery"}', 'unknown_type', 'finnhub'],
    ]);
    expect(summary).toMatchObject({
      frames: 6,
      pings: 1,
      errors: 1,
      deadLettered: 2,
      tradeMessages: 3,
      trades: 4,
    });
    expect(source.stats()).toMatchObject({ connections: 3, reconnects: 2 });
    expect(metrics.reconnects).toBe(2);
    expect(metrics.messages).toEqual({ trade: 2, ping: 1, error: 1, invalid: 2 });
    expect(srv.subscriptions).toEqual([
      ['AAPL', 'BINANCE:BTCUSDT'],
      ['AAPL', 'BINANCE:BTCUSDT'],
      ['AAPL', 'BINANCE:BTCUSDT'],
    ]);
    await until(() => srv.unsubscriptions.length === 2);
    expect(lines.some((l) => l.includes('reconnecting'))).toBe(true);
    expect(lines.some((l) => l.includes('Subscribing to too many symbols'))).toBe(true);
    for (const l of lines) expect(l).not.toContain(TOKEN);
  });

  it('a refused token stops with FinnhubAuthError; nothing printed holds the token', async () => {
    const srv = await server('the-right-token');
    const { done, lines } = start(srv.url, new MemorySink());
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FinnhubAuthError);
    expect((err as Error).message).toMatch(/HTTP 401.*FINNHUB_TOKEN/);
    expect(srv.refused).toBe(1);
    for (const text of [...lines, (err as Error).message, String((err as Error).stack)])
      expect(text).not.toContain(TOKEN);
  });

  it('reconnects when the server goes silent past the idle timeout', async () => {
    const srv = await server();
    const quick = new FinnhubWebSocketSource({
      config: {
        url: srv.url,
        token: TOKEN,
        symbols: ['AAPL'],
        reconnect: { initialMs: 10, maxMs: 20 },
        idleTimeoutMs: 150,
      },
      sink: new MemorySink(),
    });
    const ac = new AbortController();
    const run = quick.run(ac.signal);
    await until(() => quick.stats().reconnects >= 2);
    ac.abort();
    await run;
    expect(srv.connections).toBeGreaterThanOrEqual(3);
  });

  it('pauses the socket while the sink is slow: the queue stays bounded, nothing is lost', async () => {
    const srv = await server();
    const got: number[] = [];
    let maxQueued = 0;
    const ref: { source?: FinnhubWebSocketSource } = {};
    const slowSink = {
      async accept(m: TradeMessage) {
        maxQueued = Math.max(maxQueued, ref.source!.stats().queuedFrames);
        await new Promise((r) => setTimeout(r, 1));
        got.push(m.data[0]!.t);
      },
      async deadLetter() {},
    };
    const s = start(srv.url, slowSink, { highWaterFrames: 20 });
    ref.source = s.source;
    await srv.subscribed(['AAPL']);
    const pad = 'x'.repeat(2000);
    const N = 1500;
    for (let i = 1; i <= N; i++) {
      void srv.send(`{"type":"trade","data":[{"s":"AAPL","p":1,"t":${i},"v":1,"c":["${pad}"]}]}`);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => got.length === N, 30_000);
    s.ac.abort();
    await s.done;
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // One socket read may hold a few dozen 2 KB frames past the mark; never the whole backlog.
    expect(maxQueued).toBeLessThan(200);
    expect(s.lines.filter((l) => l.includes('WebSocket paused')).length).toBeGreaterThan(0);
    expect(s.lines.filter((l) => l.includes('WebSocket resumed')).length).toBeGreaterThan(0);
  });
});
