import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  readCheckpoint,
  removeCheckpoint,
  taskDir,
  wipeTaskState,
  writeCheckpoint,
} from '../state/checkpoint.js';
import { resolveConfig } from './config.js';
import { createLogger } from './log.js';
import type { Committer } from './stream-task.js';
import { TaskManager, type TaskFactory } from './task-manager.js';
import type { CommitBatch, TaskEngine } from './task-port.js';

const APP = 'app';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A stateless task's engine: nothing to process, nothing to commit. */
const engine = (taskId: string): TaskEngine => ({
  taskId,
  stores: [],
  init: async () => {},
  process: () => undefined,
  punctuateWallClock: () => undefined,
  prepareCommit: async (): Promise<CommitBatch> => ({ records: [], changelogs: [], offsets: [] }),
  close: async () => {},
});

const committer: Committer = { commit: async () => new Map(), close: async () => {} };

/** One stream thread's task manager over `stateDir` (the checkpoint files are real). */
function manager(stateDir: string): TaskManager {
  const config = resolveConfig({
    applicationId: APP,
    bootstrapServers: '127.0.0.1:9',
    stateDir,
    processingGuarantee: 'exactly_once',
  });
  const factory: TaskFactory = {
    createEngine: async (id) => engine(id),
    checkpoint: (id) => {
      const dir = taskDir(stateDir, APP, id);
      return {
        read: () => readCheckpoint(dir),
        write: (m) => writeCheckpoint(dir, m),
        remove: () => removeCheckpoint(dir),
        wipe: () => wipeTaskState(dir),
      };
    },
  };
  const layout = {
    sourcesBySubtopology: new Map([[0, ['in']]]),
    partitionsBySubtopology: new Map([[0, 1]]),
    partitionCount: () => 1,
  };
  const log = createLogger('error', { app: APP });
  return new TaskManager({} as Kafka, {} as Admin, config, layout, factory, log, true);
}

describe('TaskManager: a task moving between stream threads that share a state directory', () => {
  it("the new owner cannot open the task until the old one's close has written its checkpoint, then starts from it", async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-tm-'));
    dirs.push(stateDir);
    const [oldOwner, newOwner] = [manager(stateDir), manager(stateDir)];
    const moving = await oldOwner.create('0_0', committer);
    moving.transition('running', 'test');

    // Assigned to the new owner while the old one still has it open: refused, retriably
    // (before, the new owner found no checkpoint and wiped the directory under the old one).
    const refused = await newOwner.create('0_0', committer).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'TASK_DIR_LOCKED', retriable: true });
    expect(newOwner.tasks.has('0_0')).toBe(false);

    await oldOwner.close(moving, true);
    const taken = await newOwner.create('0_0', committer);
    expect(taken.restoredFrom).toEqual(new Map()); // the old owner's checkpoint, read
    expect(fs.existsSync(path.join(taskDir(stateDir, APP, '0_0'), '.checkpoint'))).toBe(false);

    // Closed dirty, the state is wiped and the lock given up all the same.
    await newOwner.close(taken, false);
    expect(fs.existsSync(taskDir(stateDir, APP, '0_0'))).toBe(false);
    const again = await oldOwner.create('0_0', committer);
    expect(again.restoredFrom).toBeUndefined();
    await oldOwner.close(again, false);
  });

  it('gives the lock up when creating the task fails', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-tm-'));
    dirs.push(stateDir);
    const a = manager(stateDir);
    // A checkpoint from a newer millrace: refused, and the directory is free again after.
    fs.mkdirSync(taskDir(stateDir, APP, '0_0'), { recursive: true });
    fs.writeFileSync(path.join(taskDir(stateDir, APP, '0_0'), '.checkpoint'), '{"format": 99}');
    await expect(a.create('0_0', committer)).rejects.toMatchObject({ code: 'CHECKPOINT_TOO_NEW' });
    fs.rmSync(path.join(taskDir(stateDir, APP, '0_0'), '.checkpoint'));
    const t = await a.create('0_0', committer);
    await a.close(t, false);
  });
});
