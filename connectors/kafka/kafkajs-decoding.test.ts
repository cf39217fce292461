/**
 * kafkajs's fetch-side decoding and its default partitioner, as patched by
 * patches/kafkajs+2.2.4.patch, give exactly what the published kafkajs 2.2.4 gave.
 *
 * - Record batches: the patched decoder (records read in place, offsets and timestamps with
 *   number arithmetic) against the published record decoder, which the patch keeps as the
 *   record decoder's default export, applied as published (a Decoder over each record's
 *   slice), on batches of every shape: offsets and timestamps near and past 2^52, negative
 *   and wide timestamp deltas, LOG_APPEND_TIME, headers with repeated keys, null keys and
 *   values, control batches, compressed batches, and a batch whose last record is cut.
 * - A fetch's record batches with the last one cut short (the usual end of a fetch): the same
 *   records, without an exception on the way.
 * - The consumer's Batch keeps the records at or past the fetched offset, as before.
 * - murmur2 (the default partitioner's hash) against Kafka's own test vectors and against the
 *   published BigInt implementation (kept as `murmur2.published`) on random keys.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder');
const Encoder = require('kafkajs/src/protocol/encoder');
const Long = require('kafkajs/src/utils/long');
const RecordV0 = require('kafkajs/src/protocol/recordBatch/record/v0');
const publishedRecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder');
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');
const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages');
const Batch = require('kafkajs/src/consumer/batch');
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2');
const { Types: Compression } = require('kafkajs/src/protocol/message/compression');

type Headers = Record<string, string | Buffer | (string | Buffer)[]>;
interface Rec {
  offsetDelta: number;
  timestampDelta: number | string;
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Headers;
}

let seed = 4242;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

function randomRecords(n: number, wide = false): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: wide
      ? [0, -1, 2 ** 40, -(2 ** 45), 2 ** 50, '-9007199254740993', '36028797018963968'][rnd(7)]!
      : rnd(3) === 0
        ? -rnd(100_000)
        : rnd(5_000_000),
    key: rnd(4) === 0 ? null : rnd(2) ? Buffer.alloc(rnd(40), rnd(256)) : `k${rnd(100_000)}`,
    value: rnd(5) === 0 ? null : Buffer.alloc(rnd(300), rnd(256)),
    ...(rnd(4) === 0
      ? {
          headers: {
            a: 'x'.repeat(rnd(20)),
            b: [Buffer.alloc(rnd(5), 1), 'y', ''],
            ...(rnd(2) ? { c: Buffer.from('z') } : {}),
          },
        }
      : rnd(2)
        ? { headers: {} }
        : {}),
  }));
}

interface BatchOpts {
  firstOffset: string;
  firstTimestamp: number | string;
  maxTimestamp?: number | string;
  logAppendTime?: boolean;
  control?: boolean;
  compression?: number;
}

async function batchBytes(records: Rec[], o: BatchOpts): Promise<Buffer> {
  const encoded = records.map((r) => RecordV0(r));
  const batch = await RecordBatch({
    records: encoded,
    firstOffset: Long.fromValue(o.firstOffset),
    firstTimestamp: o.firstTimestamp,
    maxTimestamp: o.maxTimestamp ?? o.firstTimestamp,
    lastOffsetDelta: records.length - 1,
    compression: o.compression ?? Compression.None,
    transactional: o.control ?? false,
  });
  const bytes = Buffer.from(batch.buffer);
  // Attributes (int16 at byte 21): bit 3 log-append time, bit 5 control. The CRC is not
  // checked by kafkajs, so it is left as it is.
  let attributes = bytes.readInt16BE(21);
  if (o.logAppendTime) attributes |= 0x8;
  if (o.control) attributes |= 0x20;
  bytes.writeInt16BE(attributes, 21);
  return bytes;
}

/** The published decoding of one uncompressed batch: each record from its own slice. */
function publishedDecode(bytes: Buffer, context: Record<string, unknown>): unknown[] {
  const d = new Decoder(bytes);
  d.offset = 61; // past the batch header and the record count (read below)
  const count = bytes.readInt32BE(57);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const recordBuffer = d.readVarIntBytes();
    out.push(publishedRecordDecoder(new Decoder(recordBuffer), context));
  }
  return out;
}

function comparable(records: any[]): unknown[] {
  return records.map((r) => ({ ...r, batchContext: { ...r.batchContext } }));
}

describe('kafkajs record batch decoding (patched) gives what kafkajs 2.2.4 gave', () => {
  const shapes: Array<[string, BatchOpts, boolean]> = [
    ['small offsets', { firstOffset: '0', firstTimestamp: 1_700_000_000_000 }, false],
    ['offset past 2^32', { firstOffset: '5000000000', firstTimestamp: 1_700_000_000_000 }, false],
    ['offset at 2^52', { firstOffset: String(2 ** 52), firstTimestamp: 1_700_000_000_000 }, false],
    ['offset past 2^53', { firstOffset: '9007199254740993', firstTimestamp: 17 }, false],
    ['no timestamp (-1)', { firstOffset: '10', firstTimestamp: -1 }, false],
    ['timestamp past 2^53', { firstOffset: '3', firstTimestamp: '9007199254740995' }, false],
    ['wide timestamp deltas', { firstOffset: '77', firstTimestamp: 1_700_000_000_000 }, true],
    [
      'log append time',
      {
        firstOffset: '1',
        firstTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_999,
        logAppendTime: true,
      },
      true,
    ],
    ['control batch', { firstOffset: '12', firstTimestamp: 5, control: true }, false],
  ];
  for (const [name, opts, wide] of shapes)
    it(name, async () => {
      for (let round = 0; round < 5; round++) {
        const records = randomRecords(1 + rnd(200), wide);
        const bytes = await batchBytes(records, opts);
        const decoded = await decodeRecordBatch(new Decoder(bytes));
        const { records: patched, ...context } = decoded;
        expect(patched).toHaveLength(records.length);
        const expected = publishedDecode(bytes, { ...context, magicByte: 2 });
        expect(comparable(patched)).toEqual(comparable(expected as any[]));
      }
    });

  it('compressed batches', async () => {
    const records = randomRecords(150);
    const bytes = await batchBytes(records, {
      firstOffset: '123456789',
      firstTimestamp: 1_700_000_000_000,
      compression: Compression.GZIP,
    });
    const decoded = await decodeRecordBatch(new Decoder(bytes));
    expect(decoded.records.map((r: any) => r.offset)).toEqual(
      records.map((_, i) => String(123456789 + i)),
    );
    const plain = await decodeRecordBatch(
      new Decoder(
        await batchBytes(records, { firstOffset: '123456789', firstTimestamp: 1_700_000_000_000 }),
      ),
    );
    expect(comparable(decoded.records)).toEqual(comparable(plain.records));
  });

  it('a record cut short decodes (or fails) as it did', async () => {
    for (let round = 0; round < 20; round++) {
      const records = randomRecords(1 + rnd(5));
      const bytes = await batchBytes(records, { firstOffset: '0', firstTimestamp: 1 });
      const { records: _r, ...context } = await decodeRecordBatch(new Decoder(bytes));
      // The batch's last bytes gone, its length field lowered to match: the last record is cut.
      const drop = 1 + rnd(20);
      const cut = Buffer.from(bytes.subarray(0, bytes.length - drop));
      cut.writeInt32BE(cut.readInt32BE(8) - drop, 8);
      const outcome = (f: () => unknown) => {
        try {
          return { records: comparable(f() as any[]) };
        } catch (e) {
          return { error: (e as Error).name };
        }
      };
      const published = outcome(() => publishedDecode(cut, { ...context, magicByte: 2 }));
      const patched = await decodeRecordBatch(new Decoder(cut)).then(
        (b: any) => ({ records: comparable(b.records) }),
        (e: Error) => ({ error: e.name }),
      );
      expect(patched).toEqual(published);
    }
  });

  it("a fetch's batches, the last cut short by maxBytes: every whole batch's records", async () => {
    const batches = await Promise.all(
      [0, 1, 2].map((b) =>
        batchBytes(randomRecords(20 + b), {
          firstOffset: String(1000 * b),
          firstTimestamp: 1_700_000_000_000,
        }),
      ),
    );
    const whole = Buffer.concat(batches);
    for (const keep of [
      whole.length,
      whole.length - 1,
      whole.length - 200,
      batches[0]!.length + 60,
    ]) {
      const bytes = whole.subarray(0, keep);
      const encoded = new Encoder().writeInt32(bytes.length).writeBuffer(bytes);
      const records = await decodeMessages(new Decoder(Buffer.from(encoded.buffer)));
      const expectedBatches = keep === whole.length ? 3 : keep > batches[0]!.length + 61 ? 2 : 1;
      expect(records).toHaveLength(
        batches.slice(0, expectedBatches).reduce((n, _b, i) => n + 20 + i, 0),
      );
    }
  });

  it("the consumer's Batch keeps the records at or past the fetched offset", async () => {
    for (const first of ['0', '4294967290', '9007199254740990']) {
      const bytes = await batchBytes(randomRecords(10), { firstOffset: first, firstTimestamp: 1 });
      const { records } = await decodeRecordBatch(new Decoder(bytes));
      for (const fetched of [first, String(BigInt(first) + 4n), String(BigInt(first) + 10n)]) {
        const batch = new Batch('t', fetched, {
          partition: 0,
          highWatermark: String(BigInt(first) + 10n),
          abortedTransactions: [],
          messages: records,
        });
        expect(batch.messages.map((m: any) => m.offset)).toEqual(
          records.filter((m: any) => BigInt(m.offset) >= BigInt(fetched)).map((m: any) => m.offset),
        );
      }
    }
  });

  it("the consumer's Batch leaves control records out", async () => {
    const data = await batchBytes(randomRecords(3), { firstOffset: '0', firstTimestamp: 1 });
    const control = await batchBytes(randomRecords(1), {
      firstOffset: '3',
      firstTimestamp: 1,
      control: true,
    });
    const records = [
      ...(await decodeRecordBatch(new Decoder(data))).records,
      ...(await decodeRecordBatch(new Decoder(control))).records,
    ];
    const batch = new Batch('t', '0', {
      partition: 0,
      highWatermark: '4',
      abortedTransactions: [],
      messages: records,
    });
    expect(batch.messages.map((m: any) => m.offset)).toEqual(['0', '1', '2']);
    expect(batch.lastOffset()).toBe('3');
  });
});

describe('murmur2 (the default partitioner) is the Java client’s', () => {
  it("matches Kafka's test vectors (clients UtilsTest.testMurmur2)", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) {
      expect(murmur2(Buffer.from(key))).toBe(hash);
      expect(murmur2(key)).toBe(hash);
    }
  });

  it('matches the published implementation on random keys of every length', () => {
    for (let i = 0; i < 20_000; i++) {
      const key = Buffer.alloc(i % 67);
      for (let j = 0; j < key.length; j++) key[j] = rnd(256);
      expect(murmur2(key)).toBe(murmur2.published(key));
    }
  });
});
