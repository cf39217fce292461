import { describe, expect, it } from 'vitest';
import { chunks, writtenOffsets, type OutgoingRecord } from './producers.js';

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

  it('splits sends below the broker’s record-batch limit', () => {
    const big = { ...r('out'), value: Buffer.alloc(200 * 1024) };
    expect(chunks([big, big, big, big]).map((c) => c.length)).toEqual([2, 2]);
  });
});
