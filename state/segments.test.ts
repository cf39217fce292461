/**
 * Reads of window keys newer than every window the backend holds end without asking the
 * backend (a dedupe store's reads are mostly of new keys), and every older or equal one is
 * still read — after writes, restores and a reopen.
 */
import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from './backend/memory.js';
import { encodeWindowKey, SegmentedTarget } from './segments.js';

const key = (k: string, ws: number) => encodeWindowKey(Buffer.from(k), ws);
const op = (k: string, ws: number, v = 'x') => ({
  key: key(k, ws),
  value: Buffer.from(v),
  timestamp: 0,
});

describe('SegmentedTarget reads', () => {
  it('answers "absent" for windows newer than any stored, without the backend', async () => {
    const backend = new MemoryBackend();
    const target = new SegmentedTarget(backend, 600_000, 60_000);
    const reads = vi.spyOn(backend, 'getSync');
    expect(target.getSync(key('a', 1_000))).toBeUndefined();
    expect(reads).not.toHaveBeenCalled();
    await target.write([op('a', 1_000, 'one'), op('b', 5_000, 'five')]);
    expect(target.getSync(key('a', 1_000))?.toString()).toBe('one');
    expect(target.getSync(key('b', 5_000))?.toString()).toBe('five');
    expect(target.getSync(key('c', 3_000))).toBeUndefined();
    const asked = reads.mock.calls.length;
    expect(asked).toBe(3);
    expect(target.getSync(key('a', 5_001))).toBeUndefined();
    expect(target.getSync(key('z', 99_999))).toBeUndefined();
    expect(reads.mock.calls.length).toBe(asked);
  });

  it('knows what a restore loaded and what a reopened backend holds', async () => {
    const backend = new MemoryBackend();
    const first = new SegmentedTarget(backend, 600_000, 60_000);
    await first.load([op('a', 70_000, 'restored'), op('b', 130_000, 'newest')]);
    expect(first.getSync(key('b', 130_000))?.toString()).toBe('newest');
    // The same data opened again: the newest window start is found at open.
    const again = new SegmentedTarget(backend, 600_000, 60_000);
    await again.recover();
    expect(again.getSync(key('a', 70_000))?.toString()).toBe('restored');
    expect(again.getSync(key('b', 130_000))?.toString()).toBe('newest');
    const reads = vi.spyOn(backend, 'getSync');
    expect(again.getSync(key('b', 130_001))).toBeUndefined();
    expect(reads).not.toHaveBeenCalled();
  });
});
