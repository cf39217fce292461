/**
 * kafkajs's produce-side encoding, as patched by patches/kafkajs+2.2.4.patch, puts exactly the
 * bytes on the wire that the published kafkajs 2.2.4 did.
 *
 * Two checks: (1) fixed cases compared with the bytes the unpatched kafkajs produced (recorded
 * below as hex, or as a sha256 for the large case); (2) round trips through kafkajs's own
 * decoders (request framing read here, record batches by `recordBatch/v0/decoder`) with the
 * CRC checked by an independent CRC-32C, plus the varint/varlong writers against a BigInt
 * reference written here.
 *
 * To re-record the expected bytes (only ever from an unpatched kafkajs):
 * `KJS_RECORD=1 npx vitest run --project unit connectors/kafka/kafkajs-encoding.test.ts`.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';

const require = createRequire(import.meta.url);
const ProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request');
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const RecordV0 = require('kafkajs/src/protocol/recordBatch/record/v0');
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder');
const Encoder = require('kafkajs/src/protocol/encoder');
const Decoder = require('kafkajs/src/protocol/decoder');
const Long = require('kafkajs/src/utils/long');
const { Types: Compression } = require('kafkajs/src/protocol/message/compression');

const RECORD = process.env.KJS_RECORD === '1';

type Headers = Record<string, string | Buffer | null | undefined | (string | Buffer)[]>;
interface Message {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  timestamp?: string | number;
  headers?: Headers;
}
interface Partition {
  partition: number;
  firstSequence?: number;
  messages: Message[];
}
interface Request {
  transactionalId?: string;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: Partition[] }[];
}

async function encodeRequest(req: Request, now: number): Promise<Buffer> {
  const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
  try {
    const encoder = await ProduceV3({ acks: -1, timeout: 30_000, ...req }).encode();
    return Buffer.from(encoder.buffer);
  } finally {
    spy.mockRestore();
  }
}

// ---- cases ----------------------------------------------------------------------------------

const T = 1_700_000_000_000;

/** Every shape of key, value, header and timestamp; a few records without a timestamp. */
const mixed: Message[] = [
  { value: 'no key' },
  { key: null, value: null, timestamp: T + 5 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: String(T + 7) },
  { key: '', value: '', timestamp: T + 1 },
  { key: 'string key', value: 'string value ✓ ünïcode', timestamp: String(T + 2) },
  { key: Buffer.from('buffer key'), value: Buffer.from([0, 1, 2, 255]), timestamp: T },
  { key: 'k', value: 'v', headers: {} },
  {
    key: 'h',
    value: 'headers',
    timestamp: String(T + 1000),
    headers: { a: 'x', b: Buffer.from('y'), c: ['1', Buffer.from('2'), ''], d: [], e: '' },
  },
  { key: 'late', value: Buffer.alloc(300, 7), timestamp: T + 90_000 },
  { key: 'no ts', value: 'uses Date.now', headers: { 'x-ü': 'ä' } },
  { key: 'same', value: 'same', timestamp: String(T + 5) },
];

/** Deltas beyond ±2^31 ms, both signs (missing timestamps use a Date.now far below the min). */
const wide: Message[] = [
  { key: 'a', value: 'a', timestamp: 1_000_000_000_000 },
  { key: 'b', value: 'b', timestamp: '1700000000000' },
  { key: 'c', value: 'c' },
  { key: 'd', value: 'd', timestamp: 1_000_002_147_483 },
  { key: 'e', value: 'e', timestamp: 9_999_999_999_999 },
];

function many(n: number): Message[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : `key-${i}`,
    value: i % 7 === 0 ? null : Buffer.alloc(i % 50, i & 0xff),
    // Unsorted timestamps, and every 11th missing.
    ...(i % 11 === 0 ? {} : { timestamp: i % 2 ? T + ((i * 7919) % 100_000) : String(T + i) }),
    ...(i % 13 === 0 ? { headers: { h: String(i), arr: ['a', String(i)] } } : {}),
  }));
}

const CASES: Record<string, { now: number; req: Request }> = {
  mixed: {
    now: T + 3,
    req: { topicData: [{ topic: 'mixed', partitions: [{ partition: 0, messages: mixed }] }] },
  },
  'small-negative-deltas': {
    now: T - 5,
    req: { topicData: [{ topic: 'neg', partitions: [{ partition: 3, messages: mixed }] }] },
  },
  'wide-deltas': {
    now: 1_000_000_000_000 - 3_000_000_000,
    req: { topicData: [{ topic: 'wide', partitions: [{ partition: 1, messages: wide }] }] },
  },
  'all-missing-timestamps': {
    now: T + 42,
    req: {
      topicData: [
        {
          topic: 'none',
          partitions: [{ partition: 0, messages: [{ value: 'a' }, { value: 'b' }] }],
        },
      ],
    },
  },
  'transactional-multi': {
    now: T,
    req: {
      transactionalId: 'txn-1',
      producerId: Long.fromValue('123456789012'),
      producerEpoch: 7,
      topicData: [
        {
          topic: 'one',
          partitions: [
            { partition: 0, firstSequence: 42, messages: mixed.slice(0, 4) },
            { partition: 5, firstSequence: 9, messages: wide.slice(0, 2) },
          ],
        },
        {
          topic: 'two',
          partitions: [{ partition: 2, messages: [{ key: 'x', value: 'y', timestamp: T }] }],
        },
      ],
    },
  },
  'many-records': {
    now: T + 500,
    req: { topicData: [{ topic: 'many', partitions: [{ partition: 0, messages: many(10_000) }] }] },
  },
};

// Recorded with the unpatched kafkajs 2.2.4 (KJS_RECORD=1). Large outputs as sha256.
const EXPECTED: Record<string, string> = {
  mixed:
    'ffffffff000075300000000100056d69786564000000010000000000000239000000000000000000' +
    '00022d0000000002a0d50bdb00000000000a0000018bcfe568000000018bcfe6c790ffffffffffff' +
    'ffff0000000000000000000b18000600010c6e6f206b6579000c000a020101000c000e040000000c' +
    '0002060000005400040814737472696e67206b657934737472696e672076616c756520e29c9320c3' +
    'bc6ec3af636f6465002800000a14627566666572206b657908000102ff001000060c026b0276004a' +
    '00d00f0e02680e686561646572730c02610278026202790263023102630232026300026500f20400' +
    'a0fe0a10086c617465d8040707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '0707070707070707070707070707070707070707070707070707070707070700400006120a6e6f20' +
    '74731a7573657320446174652e6e6f770208782dc3bc04c3a41c000a140873616d650873616d6500',
  'small-negative-deltas':
    'ffffffff000075300000000100036e65670000000100000003000002390000000000000000000002' +
    '2d00000000025b1e3a2a00000000000a0000018bcfe568000000018bcfe6c790ffffffffffffffff' +
    '0000000000000000000b18000900010c6e6f206b6579000c000a020101000c000e040000000c0002' +
    '060000005400040814737472696e67206b657934737472696e672076616c756520e29c9320c3bc6e' +
    'c3af636f6465002800000a14627566666572206b657908000102ff001000090c026b0276004a00d0' +
    '0f0e02680e686561646572730c02610278026202790263023102630232026300026500f20400a0fe' +
    '0a10086c617465d80407070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '07070707070707070707070707070707070707070707070707070707070707070707070707070707' +
    '070707070707070707070707070707070707070707070707070707070700400009120a6e6f207473' +
    '1a7573657320446174652e6e6f770208782dc3bc04c3a41c000a140873616d650873616d6500',
  'wide-deltas':
    'ffffffff000075300000000100047769646500000001000000010000007c00000000000000000000' +
    '00700000000002e5c3e35f000000000004000000e8d4a51000000009184e729fffffffffffffffff' +
    'ff000000000000000000051000000002610261001a0080e082b4df280202620262001800fff782ad' +
    '160402630263001600b69286020602640264001c00febfec9cef8b04080265026500',
  'all-missing-timestamps':
    'ffffffff000075300000000100046e6f6e6500000001000000000000004d00000000000000000000' +
    '00410000000002098361ba0000000000010000018bcfe5682a0000018bcfe5682affffffffffffff' +
    'ff000000000000000000020e000000010261000e00000201026200',
  'transactional-multi':
    '000574786e2d31ffff000075300000000200036f6e6500000002000000000000005f000000000000' +
    '00000000005300000000028ef8c62d0010000000030000018bcfe568010000018bcfe56807000000' +
    '1cbe991a1400070000002a0000000418000100010c6e6f206b6579000c0008020101000c000c0400' +
    '00000c000006000000000000050000005400000000000000000000004800000000021afda3300010' +
    '00000001000000e8d4a510000000018bcfe568000000001cbe991a14000700000009000000021000' +
    '000002610261001a0080e082b4df28020262026200000374776f0000000100000002000000460000' +
    '0000000000000000003a00000000028f34b9000010000000000000018bcfe568000000018bcfe568' +
    '000000001cbe991a1400070000000000000001100000000278027900',
  'many-records': 'sha256:edf3519f55726267877a5b08674aec94c9701d3fba9186f905567233bd7c8dd5:376699',
  'record-batch-api':
    '0000000000000005000000570000000002033c84520010000000020000018bcfe568000000018bcf' +
    'e5680a000000000000004d00030000000b0000000310000000026102620020008b01020102630402' +
    '68023102680232160080c8afa0259003000100',
};

const fingerprint = (b: Buffer) =>
  b.length > 2048
    ? `sha256:${createHash('sha256').update(b).digest('hex')}:${b.length}`
    : b.toString('hex');

// ---- independent references ------------------------------------------------------------------

/** Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
function crc32c(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Unsigned LEB128 of a non-negative BigInt. */
function uleb(v: bigint): Buffer {
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const zigzag64 = (v: bigint) => (v >= 0n ? v << 1n : (-v << 1n) - 1n);
const zigzag32 = (v: number) => BigInt(((v << 1) ^ (v >> 31)) >>> 0);

function written(write: (e: any) => void): Buffer {
  const e = new Encoder();
  write(e);
  return Buffer.from(e.buffer);
}

// ---- round trip -------------------------------------------------------------------------------

interface DecodedPartition {
  topic: string;
  partition: number;
  batch: any;
}

async function decodeRequest(bytes: Buffer): Promise<{
  transactionalId: string | null;
  acks: number;
  timeout: number;
  partitions: DecodedPartition[];
}> {
  const d = new Decoder(bytes);
  const transactionalId = d.readString();
  const acks = d.readInt16();
  const timeout = d.readInt32();
  const partitions: DecodedPartition[] = [];
  const topics = d.readInt32();
  for (let t = 0; t < topics; t++) {
    const topic = d.readString();
    const count = d.readInt32();
    for (let p = 0; p < count; p++) {
      const partition = d.readInt32();
      const size = d.readInt32();
      const batchBytes: Buffer = d.readBytes(size);
      // The CRC covers everything after itself (attributes onward): 8 + 4 + 4 + 1 + 4 bytes in.
      expect(batchBytes.readUInt32BE(17)).toBe(crc32c(batchBytes.subarray(21)));
      expect(batchBytes.readInt32BE(8)).toBe(size - 12);
      partitions.push({
        topic,
        partition,
        batch: await RecordBatchDecoder(new Decoder(batchBytes)),
      });
    }
  }
  expect(d.offset).toBe(bytes.length);
  return { transactionalId, acks, timeout, partitions };
}

const asBuffer = (v: string | Buffer | null | undefined) =>
  v == null ? null : Buffer.isBuffer(v) ? v : Buffer.from(String(v));

function expectedHeaders(headers: Headers | undefined) {
  const out: Record<string, Buffer | null | (Buffer | null)[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (!Array.isArray(v)) out[k] = asBuffer(v);
    else if (v.length === 1) out[k] = asBuffer(v[0]);
    else if (v.length > 1) out[k] = v.map(asBuffer);
  }
  return out;
}

async function roundTrip(req: Request, now: number) {
  const bytes = await encodeRequest(req, now);
  const decoded = await decodeRequest(bytes);
  expect(decoded.transactionalId).toBe(req.transactionalId ?? null);
  expect(decoded.acks).toBe(-1);
  expect(decoded.timeout).toBe(30_000);
  const sent = req.topicData.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p })));
  expect(decoded.partitions.map((p) => [p.topic, p.partition])).toEqual(
    sent.map((p) => [p.topic, p.partition]),
  );
  for (const [i, { batch }] of decoded.partitions.entries()) {
    const { messages, firstSequence = 0 } = sent[i]!;
    const stamps = messages.map((m) => (m.timestamp == null ? null : Number(m.timestamp)));
    const present = stamps.filter((s): s is number => s !== null);
    expect(Number(batch.firstTimestamp)).toBe(present.length ? Math.min(...present) : now);
    expect(Number(batch.maxTimestamp)).toBe(present.length ? Math.max(...present) : now);
    expect(batch.lastOffsetDelta).toBe(messages.length - 1);
    expect(batch.firstSequence).toBe(firstSequence);
    expect(batch.inTransaction).toBe(!!req.transactionalId);
    expect(batch.producerId).toBe(req.producerId ? String(req.producerId) : '-1');
    expect(batch.producerEpoch).toBe(req.producerEpoch ?? 0);
    expect(batch.records).toHaveLength(messages.length);
    for (const [j, r] of batch.records.entries()) {
      const m = messages[j]!;
      expect(r.offset).toBe(String(j));
      expect(r.timestamp).toBe(String(stamps[j] ?? now));
      expect(r.key).toEqual(asBuffer(m.key));
      expect(r.value).toEqual(asBuffer(m.value));
      expect(r.headers).toEqual(expectedHeaders(m.headers));
    }
  }
  return bytes;
}

// ---- tests ------------------------------------------------------------------------------------

afterEach(() => vi.restoreAllMocks());

describe('kafkajs produce encoding (patched) is byte-identical to kafkajs 2.2.4', () => {
  it.runIf(RECORD)('records the expected bytes', async () => {
    const out: Record<string, string> = {};
    for (const [name, { now, req }] of Object.entries(CASES))
      out[name] = fingerprint(await encodeRequest(req, now));
    out['record-batch-api'] = fingerprint(await recordBatchViaApi());
    console.log(JSON.stringify(out, null, 2));
  });

  for (const [name, { now, req }] of Object.entries(CASES)) {
    it.skipIf(RECORD)(`${name}: same bytes as unpatched, and round-trips`, async () => {
      const bytes = await roundTrip(req, now);
      expect(fingerprint(bytes)).toBe(EXPECTED[name]);
    });
  }

  it.skipIf(RECORD)(
    'RecordBatch called with Record encoders (the published API) still works',
    async () => {
      expect(fingerprint(await recordBatchViaApi())).toBe(EXPECTED['record-batch-api']);
    },
  );

  it('gzip-compressed batches round-trip', async () => {
    await roundTrip(
      {
        compression: Compression.GZIP,
        topicData: [{ topic: 'gz', partitions: [{ partition: 0, messages: many(500) }] }],
      },
      T,
    );
  });

  it('a null or undefined header value still throws, as in kafkajs 2.2.4', async () => {
    for (const value of [null, undefined]) {
      const req = {
        topicData: [
          {
            topic: 't',
            partitions: [{ partition: 0, messages: [{ value: 'v', headers: { h: value } }] }],
          },
        ],
      };
      await expect(encodeRequest(req, T)).rejects.toThrow(TypeError);
      const arr = {
        topicData: [
          {
            topic: 't',
            partitions: [
              { partition: 0, messages: [{ value: 'v', headers: { h: ['a', value as any] } }] },
            ],
          },
        ],
      };
      await expect(encodeRequest(arr, T)).rejects.toThrow(TypeError);
    }
  });

  // The one deliberate change: kafkajs 2.2.4 sorted timestamps as strings, so with timestamps of
  // different lengths its first/max timestamps were wrong (here first 1000000000001, max 999999999999).
  it('timestamps of different lengths: first and max timestamp by value', async () => {
    const messages: Message[] = [
      { value: 'a', timestamp: 999_999_999_999 },
      { value: 'b', timestamp: '1000000000001' },
      { value: 'c', timestamp: 99_999 },
      { value: 'd' },
    ];
    const bytes = await roundTrip(
      { topicData: [{ topic: 'len', partitions: [{ partition: 0, messages }] }] },
      T,
    );
    const { partitions } = await decodeRequest(bytes);
    expect(partitions[0]!.batch.firstTimestamp).toBe('99999');
    expect(partitions[0]!.batch.maxTimestamp).toBe('1000000000001');
  });

  it('random batches round-trip', async () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const messages: Message[] = Array.from({ length: 1 + rnd(300) }, () => ({
        key: rnd(4) === 0 ? null : rnd(2) ? Buffer.alloc(rnd(40), rnd(256)) : 'k'.repeat(rnd(40)),
        value:
          rnd(5) === 0 ? null : rnd(2) ? Buffer.alloc(rnd(500), rnd(256)) : 'é'.repeat(rnd(200)),
        ...(rnd(6) ? { timestamp: rnd(2) ? T + rnd(1_000_000) : String(T + rnd(1_000_000)) } : {}),
        ...(rnd(4) === 0
          ? { headers: { a: 'x'.repeat(rnd(100)), b: [Buffer.alloc(rnd(10)), 'y'] } }
          : {}),
      }));
      await roundTrip(
        { topicData: [{ topic: 'r', partitions: [{ partition: rnd(10), messages }] }] },
        T + rnd(2_000_000) - 1_000_000,
      );
    }
  });
});

async function recordBatchViaApi(): Promise<Buffer> {
  const records = [
    RecordV0({ offsetDelta: 0, timestampDelta: 0, key: 'a', value: 'b' }),
    RecordV0({
      offsetDelta: 1,
      timestampDelta: -70,
      key: null,
      value: Buffer.from('c'),
      headers: { h: ['1', '2'] },
    }),
    RecordV0({
      offsetDelta: 200,
      timestampDelta: 5_000_000_000,
      key: Buffer.alloc(0),
      value: null,
    }),
  ];
  const batch = await RecordBatch({
    records,
    firstTimestamp: T,
    maxTimestamp: T + 10,
    producerId: Long.fromValue(77),
    producerEpoch: 3,
    firstSequence: 11,
    transactional: true,
    lastOffsetDelta: 2,
    firstOffset: Long.fromValue(5),
  });
  return Buffer.from(batch.buffer);
}

describe('Encoder varints are LEB128 of the zigzag value', () => {
  const int32s = [
    0,
    1,
    -1,
    2,
    -2,
    63,
    -64,
    64,
    -65,
    127,
    128,
    8191,
    -8192,
    8192,
    2 ** 20,
    -(2 ** 20),
    2 ** 31 - 1,
    -(2 ** 31),
  ];
  const boundaries = [
    0, 6, 7, 13, 14, 20, 21, 27, 28, 30, 31, 32, 34, 35, 41, 42, 48, 49, 51, 52, 53, 55, 56, 62, 63,
  ];
  const longs = new Set<number>(int32s);
  for (const b of boundaries) {
    for (const d of [-1, 0, 1]) {
      const v = 2 ** b + d;
      if (Number.isSafeInteger(v)) {
        longs.add(v);
        longs.add(-v);
      }
    }
  }
  longs
    .add(Number.MAX_SAFE_INTEGER)
    .add(-Number.MAX_SAFE_INTEGER)
    .add(2 ** 53)
    .add(-(2 ** 53))
    .add(2 ** 60)
    .add(-(2 ** 62));
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 48271) % 2147483647;
    const magnitude = 2 ** (seed % 54);
    longs.add(Math.floor((seed / 2147483647) * magnitude) * (i % 2 ? -1 : 1));
  }

  it('writeVarLong / sizeOfVarLong of numbers', () => {
    for (const v of longs) {
      const expected = uleb(zigzag64(BigInt(v)));
      expect(
        written((e) => e.writeVarLong(v)),
        String(v),
      ).toEqual(expected);
      expect(Encoder.sizeOfVarLong(v), String(v)).toBe(expected.length);
    }
    expect(written((e) => e.writeVarLong(-0))).toEqual(Buffer.from([0]));
  });

  it('writeVarLong of strings, bigints, Longs and NaN as before', () => {
    for (const v of ['0', '-1', '1700000000000', '-9223372036854775808', '9223372036854775807']) {
      const expected = uleb(zigzag64(BigInt(v)));
      expect(written((e) => e.writeVarLong(v))).toEqual(expected);
      expect(written((e) => e.writeVarLong(BigInt(v)))).toEqual(expected);
      expect(written((e) => e.writeVarLong(Long.fromValue(v)))).toEqual(expected);
      expect(Encoder.sizeOfVarLong(v)).toBe(expected.length);
    }
    expect(written((e) => e.writeVarLong(NaN))).toEqual(Buffer.from([0]));
    expect(() => written((e) => e.writeVarLong(0.5))).toThrow(RangeError);
  });

  it('writeVarInt / writeUVarInt / sizeOfVarInt', () => {
    for (const v of int32s) {
      const expected = uleb(zigzag32(v));
      expect(written((e) => e.writeVarInt(v))).toEqual(expected);
      expect(Encoder.sizeOfVarInt(v)).toBe(expected.length);
      expect(written((e) => e.writeUVarInt(v))).toEqual(uleb(BigInt(v >>> 0)));
    }
    // Out of int32 range: the low 32 bits, as kafkajs always did.
    expect(written((e) => e.writeUVarInt(2 ** 32 + 5))).toEqual(Buffer.from([5]));
    expect(written((e) => e.writeUVarInt(5.7))).toEqual(Buffer.from([5]));
  });

  it('many writes grow the buffer and keep every byte', () => {
    const e = new Encoder(1);
    const expected: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      e.writeVarInt(i * 37 - 9000)
        .writeInt8(i & 0x7f)
        .writeVarIntBytes(i % 3 ? 'x'.repeat(i % 17) : Buffer.alloc(i % 5, 1));
      expected.push(
        uleb(zigzag32(i * 37 - 9000)),
        Buffer.from([i & 0x7f]),
        i % 3
          ? Buffer.concat([uleb(zigzag32(i % 17)), Buffer.from('x'.repeat(i % 17))])
          : Buffer.concat([uleb(zigzag32(i % 5)), Buffer.alloc(i % 5, 1)]),
      );
    }
    expect(Buffer.from(e.buffer)).toEqual(Buffer.concat(expected));
  });
});
