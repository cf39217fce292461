import { describe, expect, it } from 'vitest';
import { chunks, isFencedError, writtenOffsets, type OutgoingRecord } from './producers.js';

const r = (topic: string, partition?: number): OutgoingRecord => ({
  topic,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  timestamp: 0,
  ...(partition === undefined ? {} : { partition }),
});

describe('writtenOffsets', () => {
  it('gives the offset of the last record written to each explicit partition', () => {
    const records = [
      r('out'),
      r('cl', 0),
      r('cl', 0),
      r('out'),
      r('cl', 1),
      r('cl', 0), // a second run of cl:0
      r('other', 0),
    ];
    const written = writtenOffsets(records, [
      { topicName: 'out', partition: 3, errorCode: 0, baseOffset: '50' },
      { topicName: 'cl', partition: 0, errorCode: 0, baseOffset: '100' },
      { topicName: 'cl', partition: 1, errorCode: 0, baseOffset: '7' },
      { topicName: 'other', partition: 0, errorCode: 0, baseOffset: '0' },
    ]);
    expect(Object.fromEntries(written)).toEqual({ 'cl:0': 102, 'cl:1': 7, 'other:0': 0 });
  });

  it('splits sends so that no partition’s share of a request reaches the record-batch limit', () => {
    const big = (topic: string, partition?: number) => ({
      ...r(topic, partition),
      value: Buffer.alloc(200 * 1024),
    });
    // Keyed records of one topic may all land in one partition: counted together.
    expect(chunks([big('out'), big('out'), big('out'), big('out')]).map((c) => c.length)).toEqual([
      2, 2,
    ]);
    // Explicit partitions are counted apart, and topics apart: one request holds them all.
    const spread = [big('cl', 0), big('cl', 1), big('cl', 2), big('out'), big('other')];
    expect(chunks(spread).map((c) => c.length)).toEqual([5]);
    expect(chunks([big('cl', 0), big('cl', 0), big('cl', 0)]).map((c) => c.length)).toEqual([2, 1]);
    // And a request stays under its own cap.
    const many = Array.from({ length: 50 }, (_, i) => big('cl', i));
    expect(chunks(many).map((c) => c.length)).toEqual([40, 10]);
    // Headers count: a dead letter with large headers is not under-counted.
    const headed = { ...r('dlq'), headers: { 'millrace.error': 'e'.repeat(300 * 1024) } };
    expect(chunks([headed, headed]).map((c) => c.length)).toEqual([1, 1]);
  });
});

describe('the error chain', () => {
  it('finds a Kafka error type behind causes, originalError and aggregates, and ends on cycles', async () => {
    const { errorChain, hasErrorType, isRetriable } = await import('./retry.js');
    const fenced = Object.assign(new Error('fenced'), { type: 'PRODUCER_FENCED' });
    const aggregate = Object.assign(new Error('several'), { errors: [new Error('a'), fenced] });
    const wrapped = new Error('outer', {
      cause: Object.assign(new Error('retries'), { originalError: aggregate }),
    });
    expect(hasErrorType(wrapped, new Set(['PRODUCER_FENCED']))).toBe(true);
    expect(isFencedError(wrapped)).toBe(true);
    expect(hasErrorType(wrapped, new Set(['NOT_COORDINATOR']))).toBe(false);
    const loop: { cause?: unknown; type?: string } = { type: 'X' };
    loop.cause = loop;
    expect([...errorChain(loop)]).toHaveLength(1);
    expect(isRetriable(new Error('x', { cause: { type: 'NOT_LEADER_OR_FOLLOWER' } }))).toBe(true);
    expect(isRetriable(new Error('x', { cause: { type: 'INVALID_RECORD' } }))).toBe(false);
  });
});
