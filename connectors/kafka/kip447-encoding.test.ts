/**
 * The two flexible-version requests millrace's kafkajs patch adds (KIP-447), byte for
 * byte against Kafka's protocol definitions (TxnOffsetCommitRequest.json v3,
 * OffsetFetchRequest.json v7, request header v2), and their responses decoded from bytes
 * built here the same way. test/integration/kip447.test.ts runs them against the broker.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const TxnOffsetCommitV3 = require('kafkajs/src/protocol/requests/txnOffsetCommit/v3/request');
const TxnOffsetCommitV3Response = require('kafkajs/src/protocol/requests/txnOffsetCommit/v3/response');
const OffsetFetchV7 = require('kafkajs/src/protocol/requests/offsetFetch/v7/request');
const OffsetFetchV7Response = require('kafkajs/src/protocol/requests/offsetFetch/v7/response');

/** Builds bytes the way Kafka's generated code writes them. */
class Bytes {
  private parts: Buffer[] = [];
  uvarint(n: number): this {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    this.parts.push(Buffer.from(out));
    return this;
  }
  int16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  int32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  int64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    this.parts.push(b);
    return this;
  }
  bool(v: boolean): this {
    this.parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }
  /** COMPACT_NULLABLE_STRING: length + 1 as an unsigned varint, 0 for null. */
  str(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    this.uvarint(b.length + 1);
    this.parts.push(b);
    return this;
  }
  /** An empty TAG_BUFFER. */
  tags(): this {
    return this.uvarint(0);
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const encoded = async (request: { encode(): Promise<{ buffer: Buffer }> }) =>
  (await request.encode()).buffer;

describe('TxnOffsetCommit v3 (KIP-447)', () => {
  it('writes the group generation, member and instance id after the producer, in a flexible body', async () => {
    const req = TxnOffsetCommitV3({
      transactionalId: 'app-1a2b3c4d',
      groupId: 'app',
      producerId: 4001,
      producerEpoch: 7,
      generationId: 12,
      memberId: 'm-1',
      groupInstanceId: null,
      topics: [
        {
          topic: 'in',
          partitions: [
            { partition: 0, offset: '42', metadata: '{"v":1}' },
            { partition: 3, offset: '7', metadata: null },
          ],
        },
      ],
    });
    expect(req.apiKey).toBe(28);
    expect(req.apiVersion).toBe(3);
    const expected = new Bytes()
      .tags() // request header v2's tagged fields, after the client id
      .str('app-1a2b3c4d')
      .str('app')
      .int64(4001n)
      .int16(7)
      .int32(12)
      .str('m-1')
      .str(null)
      .uvarint(2) // one topic
      .str('in')
      .uvarint(3) // two partitions
      .int32(0)
      .int64(42n)
      .int32(-1) // committed_leader_epoch
      .str('{"v":1}')
      .tags()
      .int32(3)
      .int64(7n)
      .int32(-1)
      .str(null)
      .tags()
      .tags() // topic
      .tags() // request
      .buffer();
    expect((await encoded(req)).toString('hex')).toBe(expected.toString('hex'));
  });

  it('decodes the response and fails on a partition error (the member lost its partitions)', async () => {
    const body = new Bytes()
      .tags() // response header v1's tagged fields
      .int32(0)
      .uvarint(2)
      .str('in')
      .uvarint(2)
      .int32(0)
      .int16(22) // ILLEGAL_GENERATION
      .tags()
      .tags()
      .tags()
      .buffer();
    const data = await TxnOffsetCommitV3Response.decode(body);
    expect(data.topics).toEqual([{ topic: 'in', partitions: [{ partition: 0, errorCode: 22 }] }]);
    await expect(TxnOffsetCommitV3Response.parse(data)).rejects.toMatchObject({
      type: 'ILLEGAL_GENERATION',
    });
  });
});

describe('OffsetFetch v7 (require_stable)', () => {
  it('writes the partitions asked for and require_stable, in a flexible body', async () => {
    const req = OffsetFetchV7({
      groupId: 'app',
      topics: [{ topic: 'in', partitions: [{ partition: 1 }, { partition: 5 }] }],
      requireStable: true,
    });
    expect(req.apiKey).toBe(9);
    expect(req.apiVersion).toBe(7);
    const expected = new Bytes()
      .tags()
      .str('app')
      .uvarint(2)
      .str('in')
      .uvarint(3)
      .int32(1)
      .int32(5)
      .tags()
      .bool(true)
      .tags()
      .buffer();
    expect((await encoded(req)).toString('hex')).toBe(expected.toString('hex'));
    // No topics asks for all of the group's (a null array), as kafkajs's older versions do.
    const all = await encoded(OffsetFetchV7({ groupId: 'app', topics: [] }));
    expect(all.toString('hex')).toBe(
      new Bytes().tags().str('app').uvarint(0).bool(false).tags().buffer().toString('hex'),
    );
  });

  it('decodes committed offsets, and UNSTABLE_OFFSET_COMMIT as an error', async () => {
    const response = (errorCode: number) =>
      new Bytes()
        .tags()
        .int32(0)
        .uvarint(2)
        .str('in')
        .uvarint(2)
        .int32(1)
        .int64(99n)
        .int32(-1)
        .str('{"v":1,"streamTime":5}')
        .int16(errorCode)
        .tags()
        .tags()
        .int16(0)
        .tags()
        .buffer();
    const ok = await OffsetFetchV7Response.decode(response(0));
    expect(ok.responses).toEqual([
      {
        topic: 'in',
        partitions: [
          { partition: 1, offset: '99', metadata: '{"v":1,"streamTime":5}', errorCode: 0 },
        ],
      },
    ]);
    await expect(OffsetFetchV7Response.parse(ok)).resolves.toBe(ok);
    const unstable = await OffsetFetchV7Response.decode(response(88));
    await expect(OffsetFetchV7Response.parse(unstable)).rejects.toMatchObject({
      type: 'UNSTABLE_OFFSET_COMMIT',
    });
  });
});
