/**
 * Poison at the topic level: records in `trades.raw` that the ingest did not write, mixed
 * into the ingest's good trades while two `millrace run apps/finnhub-vwap` instances
 * (exactly-once) process them. 1,000 of them, of every kind a producer other than the
 * ingest can leave there:
 *
 *   random bytes · a wrong magic byte · a schema id the registry never issued · a schema
 *   id the registry has, for a schema the reader cannot resolve · a null value · a value
 *   300 bytes under the broker's 1 MiB limit · a key that is not the text of the message's
 *   symbol (bytes that are not UTF-8, an 8-byte integer)
 *
 * Each must land in `trades.dlq` with its original bytes (the oversized ones: their start,
 * marked `millrace.truncated`, with the original size), a reason, and its source
 * topic/partition/offset in the headers; the good trades must all come out (trades.clean
 * and vwap.1m equal the independent computation from the good records) — 50 of them written
 * among the poison with a version of the schema registered after the instances started;
 * no instance stops.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { fileURLToPath } from 'node:url';
import { AvroRegistrySerde, loadSchema } from '../../connectors/registry/avro-serde.js';
import type { RawTradeMessage, Trade, VwapWindow } from '../../processors/market/trade.js';
import { recordsIn } from '../support/kafka-helpers.js';
import { cleanUpRun, pipelineProcesses, readAll } from '../support/pipeline-e2e.js';
import { expectedOutputs, type RawInput } from '../support/pipeline-oracle.js';

const PREFIX = `e2e-${randomUUID().slice(0, 8)}.`;
process.env.MILLRACE_TOPIC_PREFIX = PREFIX;
const APP_ID = `${PREFIX}finnhub-vwap`.replace(/\./g, '-');
const { SERDES, TOPICS, serdes } = await import('../../apps/finnhub-vwap/app.js');
const START = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
const PARTITIONS = 4;
const POISON = 1000;
/** Good trade messages in a newer schema version, written among the poison. */
const NEWER = 50;
const SCHEMAS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');
const SEED = Number(process.env.POISON_TEST_SEED ?? 14);
/** The broker's default `message.max.bytes` (the largest record batch it takes). */
const BROKER_LIMIT = 1_048_588;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-poison-'));
let kafka: Kafka;

beforeAll(() => {
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'e2e-pipeline-poison' });
});
afterAll(() => cleanUpRun(kafka, { prefix: PREFIX, appId: APP_ID, dir }));

type Kind =
  | 'random-bytes'
  | 'wrong-magic'
  | 'unknown-schema-id'
  | 'unresolvable-schema'
  | 'null-value'
  | 'oversized'
  | 'key-not-text'
  | 'key-integer';

/** The reason each kind must be dead-lettered with. */
const REASON: Record<Kind, string> = {
  'random-bytes': 'deserialization_error',
  'wrong-magic': 'deserialization_error',
  'unknown-schema-id': 'deserialization_error',
  'unresolvable-schema': 'deserialization_error',
  'null-value': 'not_a_trade_message',
  oversized: 'deserialization_error',
  'key-not-text': 'key_not_symbol',
  'key-integer': 'key_not_symbol',
};
/** Oversized records are few (each is 1 MiB); the rest share the 1,000 evenly. */
const OVERSIZED = 4;

interface PoisonRecord {
  /** A kind of poison, or `newer-schema`: a good trade message in a schema version the instances have not seen. */
  kind: Kind | 'newer-schema';
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** 1,000 poison records, deterministic for a seed, in a shuffled order. */
async function poisonRecords(registryUrl: string, raw: AvroRegistrySerde): Promise<PoisonRecord[]> {
  let s = SEED;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const bytes = (n: number) =>
    Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const trade = (): RawTradeMessage => ({
    type: 'trade',
    data: [{ s: 'AAPL', p: 100 + rnd(), t: START + Math.floor(rnd() * 60_000), v: 1, c: null }],
    ingest_timestamp: START,
  });
  const valid = () => raw.serialize(trade());
  // A schema the registry knows, under a subject of its own, that trades-raw cannot read.
  const other = await AvroRegistrySerde.create(registryUrl, `${PREFIX}poison-other-value`, {
    type: 'record',
    name: 'NotATrade',
    fields: [{ name: 'x', type: 'string' }],
  });
  const make: Record<Kind, () => Pick<PoisonRecord, 'key' | 'value'>> = {
    'random-bytes': () => ({ key: Buffer.from('AAPL'), value: bytes(1 + Math.floor(rnd() * 200)) }),
    'wrong-magic': () => {
      const v = valid();
      v[0] = 1 + Math.floor(rnd() * 255);
      return { key: Buffer.from('AAPL'), value: v };
    },
    'unknown-schema-id': () => {
      const v = valid();
      v.writeInt32BE(900_000_000 + Math.floor(rnd() * 1000), 1);
      return { key: Buffer.from('AAPL'), value: v };
    },
    'unresolvable-schema': () => ({
      key: Buffer.from('AAPL'),
      value: other.serialize({ x: `not a trade ${rnd()}` }),
    }),
    'null-value': () => ({ key: Buffer.from('AAPL'), value: null }),
    // Framed like Avro (magic 0, the real id) but far longer than any trade message, and
    // nearly as large as the broker takes: 300 bytes under its limit, so that the same bytes
    // with the dead-letter headers would be over it.
    oversized: () => {
      const v = Buffer.concat([valid().subarray(0, 5), bytes(BROKER_LIMIT - 300 - 5)]);
      return { key: Buffer.from('AAPL'), value: v };
    },
    'key-not-text': () => ({ key: Buffer.from([0xff, 0xfe, ...bytes(6)]), value: valid() }),
    'key-integer': () => {
      const k = Buffer.alloc(8);
      k.writeBigInt64BE(BigInt(Math.floor(rnd() * 1e9)));
      return { key: k, value: valid() };
    },
  };
  const kinds = Object.keys(REASON) as Kind[];
  const others = kinds.filter((k) => k !== 'oversized');
  const list: Kind[] = [
    ...Array<Kind>(OVERSIZED).fill('oversized'),
    ...Array.from({ length: POISON - OVERSIZED }, (_, i) => others[i % others.length]!),
  ];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list.map((kind) => ({
    kind,
    partition: Math.floor(rnd() * PARTITIONS),
    ...make[kind](),
  }));
}

/** Good trade messages for `trades.raw` written with a newer version of its schema. */
async function newerSchemaTrades(registryUrl: string, n: number): Promise<PoisonRecord[]> {
  const schema = loadSchema(path.join(SCHEMAS, 'trades-raw.avsc')) as { fields: object[] };
  const v2 = await AvroRegistrySerde.create(registryUrl, `${TOPICS.raw}-value`, {
    ...schema,
    fields: [...schema.fields, { name: 'venue', type: ['null', 'string'], default: null }],
  });
  const symbols = ['AAPL', 'MSFT', 'NVDA', 'GOOGL', 'AMZN'];
  return Array.from({ length: n }, (_, i) => {
    const symbol = symbols[i % symbols.length]!;
    const t = START + 5 * 60_000 + i * 997;
    return {
      kind: 'newer-schema' as const,
      partition: i % PARTITIONS,
      key: Buffer.from(symbol),
      value: v2.serialize({
        type: 'trade',
        data: [{ s: symbol, p: 100 + i, t, v: 1 + (i % 3), c: null }],
        ingest_timestamp: t,
        venue: 'XNAS',
      }),
    };
  });
}

/** `extra` spread evenly through `list`. */
function shuffleIn<T>(list: T[], extra: T[]): T[] {
  const out = [...list];
  extra.forEach((x, i) =>
    out.splice(Math.floor(((i + 1) * out.length) / (extra.length + 1)), 0, x),
  );
  return out;
}

/** Writes the poison in `chunks` slices, `pauseMs` apart, while the ingest runs. */
async function writePoison(records: PoisonRecord[], chunks: number, pauseMs: number) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const per = Math.ceil(records.length / chunks);
    for (let i = 0; i < records.length; i += per) {
      for (const r of records.slice(i, i + per))
        await producer.send({
          topic: TOPICS.raw,
          acks: -1,
          messages: [
            {
              partition: r.partition,
              key: r.key,
              value: r.value,
              headers:
                r.kind === 'newer-schema' ? { 'test.good': r.kind } : { 'test.poison': r.kind },
            },
          ],
        });
      await new Promise((res) => setTimeout(res, pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
}

describe('finnhub-vwap with poison in trades.raw', () => {
  it('1,000 poison records of every kind among good trades: each dead-lettered with why and where, every good trade out, no instance stops', async () => {
    const p = pipelineProcesses({
      prefix: PREFIX,
      appId: APP_ID,
      dir,
      partitions: PARTITIONS,
    });
    const s = await serdes(inject('registryUrl'));
    const raw = s[SERDES.raw] as AvroRegistrySerde;
    const poison = await poisonRecords(inject('registryUrl'), raw);

    // Good trades first (the ingest creates the topics), then the instances, then more
    // good trades with the poison written among them.
    expect(await p.ingest(41, START, 4000, 100).exited).toBe(0);
    const a = p.instance('a');
    const b = p.instance('b');
    await Promise.all([a, b].map((c) => c.waitFor((l) => l.event === 'started', 90_000)));
    const second = p.ingest(42, START + 4 * 60_000, 4000, 100);
    // Among the poison, good trade messages written with a version of the schema registered
    // after the instances started (one more optional field): read, not dead-lettered.
    const newer = await newerSchemaTrades(inject('registryUrl'), NEWER);
    await writePoison(shuffleIn(poison, newer), 20, 150);
    expect(await second.exited).toBe(0);

    // The oracle: the good records of trades.raw as they are; the poison by its header.
    const records = await readAll(kafka, TOPICS.raw, await recordsIn(kafka, TOPICS.raw));
    const good: RawInput[] = [];
    const expectedPoison: string[] = [];
    for (const r of records) {
      const kind = r.headers['test.poison'] as Kind | undefined;
      if (kind) {
        expectedPoison.push(`${REASON[kind]}|${r.partition}|${r.offset}`);
        continue;
      }
      const bytes = Buffer.from(r.value!, 'base64');
      const id = raw.missingSchemaId(bytes);
      if (id !== undefined) await raw.ensureSchema(id);
      good.push({
        partition: r.partition,
        offset: r.offset,
        key: r.key,
        message: raw.deserialize(bytes) as RawTradeMessage,
      });
    }
    expect(expectedPoison).toHaveLength(POISON);
    expect(records.filter((r) => r.headers['test.good'])).toHaveLength(NEWER);
    const expected = expectedOutputs(TOPICS.raw, good);
    expect(expected.trades.length).toBeGreaterThan(5000);

    const dlq = await readAll(kafka, TOPICS.dlq, expected.deadLetters.length + POISON);
    const got = dlq.map(
      (r) =>
        `${r.headers['millrace.reason']}|${r.headers['millrace.source.partition']}|${r.headers['millrace.source.offset']}`,
    );
    expect(got.sort()).toEqual([...expected.deadLetters, ...expectedPoison].sort());
    expect(dlq.every((r) => r.headers['millrace.source.topic'] === TOPICS.raw)).toBe(true);
    // The dead letters carry the original bytes; one that would not fit under the broker's
    // limit with its headers carries the start of them and says so.
    const original = new Map(records.map((r) => [`${r.partition}|${r.offset}`, r]));
    for (const r of dlq) {
      const where = `${r.headers['millrace.source.partition']}|${r.headers['millrace.source.offset']}`;
      const o = original.get(where)!;
      const bytes = o.value === null ? null : Buffer.from(o.value, 'base64');
      if (o.headers['test.poison'] === 'oversized') {
        expect(r.headers['millrace.truncated'], `dead letter of ${where}`).toBe('true');
        expect(r.headers['millrace.original.value.size']).toBe(String(bytes!.length));
        const got = Buffer.from(r.value!, 'base64');
        expect(got.length).toBeLessThan(bytes!.length);
        expect(bytes!.subarray(0, got.length).equals(got), `dead letter of ${where}`).toBe(true);
      } else {
        expect(r.headers['millrace.truncated'], `dead letter of ${where}`).toBeUndefined();
        expect(r.value, `dead letter of ${where}`).toBe(o.value);
      }
    }

    const clean = (await readAll(kafka, TOPICS.clean, expected.trades.length)).map(
      (r) => s[SERDES.trade].deserialize(Buffer.from(r.value!, 'base64')) as Trade,
    );
    expect(clean.map((t) => t.uuid).sort()).toEqual(expected.trades.map((t) => t.uuid).sort());
    const vwap = (await readAll(kafka, TOPICS.vwap, expected.windows.length)).map(
      (r) => s[SERDES.vwap].deserialize(Buffer.from(r.value!, 'base64')) as VwapWindow,
    );
    expect(vwap.map((w) => `${w.symbol}|${w.window_start}|${w.trade_count}`).sort()).toEqual(
      expected.windows.map((w) => `${w.symbol}|${w.window_start}|${w.trade_count}`).sort(),
    );

    for (const c of [a, b]) {
      expect(
        c.lines.filter((l) => l.event === 'failed'),
        c.name,
      ).toEqual([]);
      expect(c.proc.exitCode, `${c.name} still running`).toBeNull();
      c.signal('SIGTERM');
    }
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 600_000);
});
