/**
 * The Finnhub WebSocket path end to end on the real broker and registry: a local server
 * speaking Finnhub's protocol sends pings, an error message, trade frames mixing symbols
 * (one sent twice), malformed frames, and drops the connection twice. The client must
 * reconnect and subscribe again each time; every trade the server sent must be in
 * trades.raw exactly as many times as it was sent (decoded through the registry, one
 * symbol per record, keyed by it); finnhub.dlq must hold exactly the malformed frames,
 * byte for byte, with their reasons.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  FakeFinnhubServer,
  FinnhubWebSocketSource,
  jsonLogger,
  parseFrame,
  syntheticFeed,
  type FinnhubTrade,
  type TradeMessage,
} from '../../connectors/finnhub/index.js';
import { IngestProducer } from '../../connectors/finnhub/ingest-producer.js';
import { kafkaBatchSender } from '../../connectors/kafka/keyed-producer.js';
import { AvroRegistrySerde, RegistryClient } from '../../connectors/registry/index.js';
import { readUntil, recordsIn } from '../support/kafka-helpers.js';
import { useIngestTopics } from '../support/ingest-topics.js';

const { raw: RAW, dlq: DLQ, kafka, schema } = useIngestTopics('it-finnhub-ws');
const TOKEN = 'integration-test-token-0123';
const SYMBOLS = [
  'AAPL',
  'MSFT',
  'AMZN',
  'NVDA',
  'GOOGL',
  'META',
  'TSLA',
  'BINANCE:BTCUSDT',
  'BINANCE:ETHUSDT',
  'OANDA:EUR_USD',
];

/** Mixed-symbol trade frames from the synthetic feed, and malformed ones. */
function frames(): { trades: string[]; malformed: string[] } {
  const trades: string[] = [];
  const malformed: string[] = [];
  for (const f of syntheticFeed({ seed: 21, symbols: SYMBOLS.length, eventsPerFrame: 4 })) {
    if (f.kind === 'malformed') {
      if (malformed.length < 12) malformed.push(f.text);
    } else if (trades.length < 600) trades.push(f.text);
    if (trades.length >= 600 && malformed.length >= 12) break;
  }
  return { trades, malformed };
}

const tradeKey = (t: FinnhubTrade) => JSON.stringify([t.s, t.p, t.t, t.v, t.c]);

function count<T>(items: T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

describe('Finnhub WebSocket → trades.raw / finnhub.dlq (real Kafka and registry)', () => {
  it('reconnects, subscribes again, and delivers every trade exactly as often as sent', async () => {
    const server = await FakeFinnhubServer.start({ token: TOKEN });
    const serde = await AvroRegistrySerde.create<TradeMessage>(
      inject('registryUrl'),
      `${RAW}-value`,
      schema,
    );
    const logLines: string[] = [];
    const logger = jsonLogger({ level: 'debug', write: (l) => logLines.push(l) });
    const producer = new IngestProducer(kafkaBatchSender(kafka), {
      rawTopic: RAW,
      dlqTopic: DLQ,
      serialize: (m) => serde.serialize(m),
      logger,
    });
    await producer.connect();
    const source = new FinnhubWebSocketSource({
      config: {
        url: server.url,
        token: TOKEN,
        symbols: SYMBOLS,
        reconnect: { initialMs: 20, maxMs: 200 },
      },
      sink: producer,
      logger,
    });
    const stop = new AbortController();
    const running = source.run(stop.signal);

    const { trades, malformed } = frames();
    const sent: string[] = [];
    let framesSent = 0;
    const send = async (text: string) => {
      await server.send(text);
      framesSent++;
      if (parseFrame(text, 0).kind === 'trades') sent.push(text);
    };
    const received = async () => {
      const deadline = Date.now() + 20_000;
      while (source.summary.frames < framesSent) {
        if (Date.now() > deadline) throw new Error('the client did not receive what was sent');
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    // Connection 1: ping, trades, an error message, malformed frames; then a drop.
    await server.subscribed(SYMBOLS, 0);
    await send('{"type":"ping"}');
    for (const t of trades.slice(0, 200)) await send(t);
    await send('{"type":"error","msg":"Subscribing to too many symbols"}');
    for (const m of malformed.slice(0, 6)) await send(m);
    await received();
    server.drop();

    // Connection 2: more of everything, one trade frame twice; then another drop.
    await server.subscribed(SYMBOLS, 1);
    for (const t of trades.slice(200, 400)) await send(t);
    await send(trades[250]!);
    await send('{"type":"ping"}');
    for (const m of malformed.slice(6)) await send(m);
    await received();
    server.drop();

    // Connection 3: the rest.
    await server.subscribed(SYMBOLS, 2);
    for (const t of trades.slice(400)) await send(t);
    await received();
    stop.abort();
    const summary = await running;
    await producer.close();
    await server.close();

    expect(server.connections).toBe(3);
    expect(server.subscriptions.map((s) => [...s].sort())).toEqual(
      Array.from({ length: 3 }, () => [...SYMBOLS].sort()),
    );
    expect(source.stats()).toMatchObject({ connections: 3, reconnects: 2 });
    expect(summary).toMatchObject({ pings: 2, errors: 1, deadLettered: malformed.length });

    const sentTrades = sent.flatMap((t) => {
      const p = parseFrame(t, 0);
      return p.kind === 'trades' ? p.messages.flatMap((m) => m.data) : [];
    });
    const expectedMessages = sent.reduce((n, t) => {
      const p = parseFrame(t, 0);
      return n + (p.kind === 'trades' ? p.messages.length : 0);
    }, 0);
    expect(new Set(sentTrades.map((t) => t.s)).size).toBeGreaterThan(5);
    expect(
      sent.filter((t) => new Set(JSON.parse(t).data.map((d: FinnhubTrade) => d.s)).size > 1).length,
    ).toBeGreaterThan(100);

    // trades.raw through the registry, with a reader of its own (fetches the id on first sight).
    const reader = new AvroRegistrySerde<TradeMessage>({
      registry: new RegistryClient(inject('registryUrl')),
      subject: `${RAW}-value`,
      schema,
      autoRegister: false,
      preloadVersions: false,
    });
    await reader.prepare();
    const raw = await readUntil(kafka, RAW, (r) => r.length >= expectedMessages, 60_000, 'base64');
    expect(raw).toHaveLength(expectedMessages);
    expect(await recordsIn(kafka, RAW)).toBe(expectedMessages);
    const messages = raw.map((r) => {
      const m = reader.deserialize(Buffer.from(r.value!, 'base64'));
      expect(new Set(m.data.map((d) => d.s))).toEqual(new Set([r.key]));
      return m;
    });
    const got = messages.flatMap((m) => m.data);
    expect(count(got, tradeKey)).toEqual(count(sentTrades, tradeKey));
    expect(got.length).toBe(sentTrades.length);

    // finnhub.dlq: exactly the malformed frames, byte for byte, with reasons.
    const dlq = await readUntil(kafka, DLQ, (r) => r.length >= malformed.length, 60_000, 'base64');
    expect(dlq).toHaveLength(malformed.length);
    expect(await recordsIn(kafka, DLQ)).toBe(malformed.length);
    expect(
      dlq.map((r) => [Buffer.from(r.value!, 'base64').toString(), r.headers['millrace.reason']]),
    ).toEqual(malformed.map((m) => [m, (parseFrame(m, 0) as { reason: string }).reason]));
    for (const r of dlq) {
      expect(r.headers['millrace.source']).toBe('finnhub');
      expect(Number(r.headers['millrace.timestamp'])).toBeGreaterThan(0);
    }
    for (const l of logLines) expect(l).not.toContain(TOKEN);
  });
});
