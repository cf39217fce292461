import { describe, expect, it } from 'vitest';
import { FetchPositions } from './fetch-positions.js';

const never = () => Promise.reject(new Error('log start asked for'));

describe('FetchPositions', () => {
  it('processes a batch fetched from the position, or from before it (the records before it are dropped)', async () => {
    const p = new FetchPositions();
    p.set('in', 0, 100);
    expect(await p.place('in', 0, 100, never)).toEqual({ process: true, from: 100 });
    expect(await p.place('in', 0, 40, never)).toEqual({ process: true, from: 100 });
  });

  it('refetches from the position a batch fetched beyond it (fetched before a seek back)', async () => {
    const p = new FetchPositions();
    p.set('in', 0, 100);
    expect(await p.place('in', 0, 130, never)).toEqual({ process: false, position: 100 });
    // The refetch starts at the position: processed, and the next batch ahead is refetched again.
    expect(await p.place('in', 0, 100, never)).toEqual({ process: true, from: 100 });
    p.set('in', 0, 120);
    expect(await p.place('in', 0, 150, never)).toEqual({ process: false, position: 120 });
  });

  it('goes on beyond the position only when the refetch starts beyond it too and the records between are gone', async () => {
    const p = new FetchPositions();
    p.set('in', 0, 100);
    expect(await p.place('in', 0, 130, never)).toEqual({ process: false, position: 100 });
    // Refetched from 100, the consumer's offset reset answers from the log's start, 130.
    expect(await p.place('in', 0, 130, async () => 130)).toEqual({
      process: true,
      from: 130,
      deleted: [100, 129],
    });
    // Still in the log (a second stale batch, not a reset): refetched again.
    p.set('in', 1, 10);
    expect(await p.place('in', 1, 20, never)).toEqual({ process: false, position: 10 });
    expect(await p.place('in', 1, 20, async () => 0)).toEqual({ process: false, position: 10 });
  });

  it('moves past a batch read_committed emptied only when it was fetched from the position', () => {
    const p = new FetchPositions();
    p.set('in', 0, 100);
    expect(p.passFiltered('in', 0, 130, 135)).toBe(false); // fetched before a seek: not ours
    expect(p.get('in', 0)).toBe(100);
    expect(p.passFiltered('in', 0, 100, 104)).toBe(true); // markers and aborted records at 100-103
    expect(p.get('in', 0)).toBe(104);
    expect(p.passFiltered('in', 0, 100, 104)).toBe(false); // the same batch again: no move
    expect(p.passFiltered('in', 7, 0, 10)).toBe(false); // no running task there
    expect(p.has('in', 7)).toBe(false);
  });

  it('a partition with no running task places every batch as is', async () => {
    const p = new FetchPositions();
    expect(await p.place('in', 3, 55, never)).toEqual({ process: true, from: -1 });
    p.set('in', 3, 60);
    p.delete('in', 3);
    expect(p.get('in', 3)).toBe(-1);
  });
});
