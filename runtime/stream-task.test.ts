import { describe, expect, it } from 'vitest';
import { OffsetsNotCommittedError } from './errors.js';
import type { OffsetToCommit, OutgoingRecord } from './producers.js';
import { StreamTask, type CheckpointIO, type Committer } from './stream-task.js';
import type { CommitBatch, RawRecord, TaskEngine } from './task-port.js';

/** An engine that emits one output per record and reports the next offset to consume. */
function engine(): TaskEngine {
  let out: OutgoingRecord[] = [];
  let offset: OffsetToCommit | undefined;
  return {
    taskId: '0_0',
    stores: [],
    init: async () => {},
    process: (r: RawRecord) => {
      out.push({ topic: 'out', key: r.key, value: r.value, timestamp: r.timestamp });
      offset = { topic: r.topic, partition: r.partition, offset: r.offset + 1 };
      return undefined;
    },
    punctuateWallClock: () => undefined,
    prepareCommit: async (): Promise<CommitBatch> => {
      const batch = { records: out, changelogs: [], offsets: offset ? [offset] : [] };
      out = [];
      offset = undefined;
      return batch;
    },
    close: async () => {},
  };
}

const noCheckpoint: CheckpointIO = {
  read: async () => undefined,
  write: async () => {},
  remove: async () => {},
  wipe: async () => {},
};

const rec = (offset: number): RawRecord => ({
  topic: 'in',
  partition: 0,
  offset,
  key: Buffer.from('k'),
  value: Buffer.from(`v${offset}`),
  timestamp: 0,
  headers: {},
});

/** A committer that fails the calls listed in `failures` (1-based) with the error given. */
function committer(failures: Map<number, (records: readonly OutgoingRecord[]) => Error>) {
  const calls: Array<{ values: string[]; offsets: number[] }> = [];
  const c: Committer = {
    commit: async (records, offsets) => {
      calls.push({
        values: records.map((r) => String(r.value)),
        offsets: offsets.map((o) => o.offset),
      });
      const fail = failures.get(calls.length);
      if (fail) throw fail(records);
      return new Map();
    },
    close: async () => {},
  };
  return { c, calls };
}

describe('StreamTask.commit after a failed commit', () => {
  it('sends again the records a failed send could not write, before the new ones', async () => {
    const { c, calls } = committer(new Map([[1, () => new Error('broker unreachable')]]));
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint);
    task.state = 'running';
    await task.process([rec(0), rec(1)]);
    await expect(task.commit()).rejects.toThrow('broker unreachable');
    expect(task.hasUncommitted).toBe(true);
    await task.process([rec(2)]);
    await task.commit();
    expect(calls[1]).toEqual({ values: ['v0', 'v1', 'v2'], offsets: [3] });
    expect(task.hasUncommitted).toBe(false);
  });

  it('retries the whole commit even when nothing new arrived', async () => {
    const { c, calls } = committer(new Map([[1, () => new Error('timeout')]]));
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint);
    task.state = 'running';
    await task.process([rec(0)]);
    await expect(task.commit()).rejects.toThrow('timeout');
    await task.commit();
    expect(calls[1]).toEqual({ values: ['v0'], offsets: [1] });
  });

  it('does not send written records again when only the offset commit failed, but commits their offsets', async () => {
    const { c, calls } = committer(
      new Map([[1, () => new OffsetsNotCommittedError('0_0', new Map(), new Error('rebalance'))]]),
    );
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint);
    task.state = 'running';
    await task.process([rec(0), rec(1)]);
    await expect(task.commit()).rejects.toBeInstanceOf(OffsetsNotCommittedError);
    await task.commit();
    expect(calls[1]).toEqual({ values: [], offsets: [2] });
  });
});
