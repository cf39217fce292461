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

function running(task: StreamTask): void {
  task.transition('restoring', 'test');
  task.transition('running', 'test');
}

describe('StreamTask.commit after a failed commit', () => {
  it('sends again the records a failed send could not write, before the new ones', async () => {
    const { c, calls } = committer(new Map([[1, () => new Error('broker unreachable')]]));
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint);
    running(task);
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
    running(task);
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
    running(task);
    await task.process([rec(0), rec(1)]);
    await expect(task.commit()).rejects.toBeInstanceOf(OffsetsNotCommittedError);
    await task.commit();
    expect(calls[1]).toEqual({ values: [], offsets: [2] });
  });
});

/** A committer whose calls wait until released; `release(i, err?)` settles call i (0-based). */
function gatedCommitter() {
  const calls: Array<{ values: string[]; offsets: number[] }> = [];
  const gates: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const c: Committer = {
    commit: (records, offsets) => {
      calls.push({
        values: records.map((r) => String(r.value)),
        offsets: offsets.map((o) => o.offset),
      });
      return new Promise((resolve, reject) =>
        gates.push({ resolve: () => resolve(new Map()), reject }),
      );
    },
    close: async () => {},
  };
  const release = (i: number, err?: Error) => (err ? gates[i]!.reject(err) : gates[i]!.resolve());
  return { c, calls, release };
}

describe('StreamTask commits in flight', () => {
  it('keeps processing while a commit is sent; what it processed meanwhile is the next commit', async () => {
    const { c, calls, release } = gatedCommitter();
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint);
    running(task);
    await task.process([rec(0), rec(1)]);
    const started = await task.startCommit(); // resolves once drained, not when sent
    expect(started).toBeDefined();
    expect(task.committing).toBe(true);
    await task.process([rec(2)]);
    expect(calls).toEqual([{ values: ['v0', 'v1'], offsets: [2] }]);
    await expect(task.startCommit()).rejects.toThrow('already in flight');
    release(0);
    await started!.send;
    expect(task.committing).toBe(false);
    expect(task.hasUncommitted).toBe(true);
    const next = task.commit();
    await new Promise((r) => setTimeout(r, 0));
    release(1);
    await next;
    expect(calls[1]).toEqual({ values: ['v2'], offsets: [3] });
    expect(task.hasUncommitted).toBe(false);
  });

  it('at-least-once: a failed commit in flight is sent again ahead of what was processed meanwhile', async () => {
    const { c, calls, release } = gatedCommitter();
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint, true);
    running(task);
    await task.process([rec(0)]);
    const started = await task.startCommit();
    await task.process([rec(1)]);
    release(0, new Error('broker unreachable'));
    await expect(started!.send).rejects.toThrow('broker unreachable');
    const next = task.commit();
    await new Promise((r) => setTimeout(r, 0));
    release(1);
    await next;
    expect(calls[1]).toEqual({ values: ['v0', 'v1'], offsets: [2] });
  });

  it('exactly-once: after a failed commit the task commits no more (it is closed dirty)', async () => {
    const { c, calls, release } = gatedCommitter();
    const task = new StreamTask('0_0', 0, engine(), c, noCheckpoint, false);
    running(task);
    await task.process([rec(0)]);
    const started = await task.startCommit();
    await task.process([rec(1)]);
    release(0, new Error('transaction aborted'));
    await expect(started!.send).rejects.toThrow('transaction aborted');
    await expect(task.commit()).rejects.toThrow('transaction aborted');
    expect(calls).toHaveLength(1);
  });
});
