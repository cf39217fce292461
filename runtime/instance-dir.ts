/**
 * An instance's claim on a slot of its application's state directory
 * (`<stateDir>/<applicationId>`): a lock file naming the process that holds the slot, and a
 * process id kept beside it across restarts. Under exactly-once the process id names the
 * instance's transactional id, so a restarted instance (which takes the lowest free slot,
 * the one its crashed predecessor held when it ran alone) aborts at once what that
 * predecessor left open. Several instances may share one state directory (each task's
 * stores are locked on their own); each then holds a slot, and so a transactional id, of
 * its own: two live producers with one id would fence each other.
 *
 * Each task directory has a lock of its own too (`lockTaskDir`), held by the stream thread
 * that has the task open, active or standby, from before it reads the task's checkpoint
 * until its close has written the checkpoint or wiped the state. Stream threads of one
 * instance always share the state directory, and a task that moves between them (or
 * between instances sharing it) is closed by its old owner while the new one creates it;
 * without the lock the new owner could wipe the directory while the old one writes its
 * checkpoint into it (the rm failed with ENOTEMPTY and stopped the instance), or find no
 * checkpoint yet and leave the old owner's to land later beside state it no longer
 * describes. A store's own LevelDB lock covers neither: it is released before the
 * checkpoint is written, and a stateless task has no store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isMainThread, threadId } from 'node:worker_threads';
import { MillraceError } from './errors.js';

export interface InstanceClaim {
  /** Stable across restarts of the instance on this directory and slot (8 hex digits). */
  processId: string;
  /** Gives the slot up (removes its lock file). */
  release(): void;
}

/** Slots claimed by this process (the lock file alone cannot tell two apps of one process apart). */
const claimed = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Who holds a slot: the process id, and the worker thread's id for a stream thread of an
 * instance with several (`pid:thread`; the main thread's is the pid alone). Each stream
 * thread claims a slot of its own, so each has a transactional id of its own.
 */
const holderId = isMainThread ? String(process.pid) : `${process.pid}:${threadId}`;

/** Takes `lock` if it is free or its holder is gone; false when a live process or thread holds it. */
function take(lock: string): boolean {
  for (;;) {
    try {
      fs.writeFileSync(lock, holderId, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = '';
      try {
        holder = fs.readFileSync(lock, 'utf8').trim();
      } catch {
        continue; // removed meanwhile
      }
      const pid = Number(holder.split(':')[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) return false;
      // Another thread of this process (its worker threads run stream threads).
      if (pid === process.pid && holder !== holderId) return false;
      if (holder === holderId && claimed.has(lock)) return false;
      fs.rmSync(lock, { force: true }); // left by a process that is gone
    }
  }
}

/** A task directory's lock, held by this stream thread (see lockTaskDir). */
export interface TaskDirLock {
  /** Gives the lock up; a second call does nothing. */
  release(): void;
}

/** Gives up `lock` if this thread holds it (removed already, e.g. by `millrace reset`, is fine). */
function give(lock: string): void {
  claimed.delete(lock);
  try {
    if (fs.readFileSync(lock, 'utf8').trim() === holderId) fs.rmSync(lock);
  } catch {
    /* removed already */
  }
}

/**
 * Takes the lock of task `taskId`'s directory (`<stateDir>/<applicationId>/.task-<id>.lock`,
 * beside the directory so that wiping it keeps the lock); undefined while another stream
 * thread or process that is alive holds it, or this thread does already.
 */
export function lockTaskDir(
  stateDir: string,
  applicationId: string,
  taskId: string,
): TaskDirLock | undefined {
  const dir = path.resolve(stateDir, applicationId);
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, `.task-${taskId}.lock`);
  if (claimed.has(lock) || !take(lock)) return undefined;
  claimed.add(lock);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      give(lock);
    },
  };
}

/**
 * lockTaskDir, or a retriable error when another stream thread or instance holds the
 * lock: the task's old owner has not closed it yet (the step that creates it is retried).
 */
export function claimTaskDir(stateDir: string, applicationId: string, taskId: string): TaskDirLock {
  const lock = lockTaskDir(stateDir, applicationId, taskId);
  if (lock) return lock;
  throw new MillraceError(
    `task ${taskId}'s state directory is held by another stream thread or instance that has not closed the task yet (or by a standby of it here); trying again`,
    { code: 'TASK_DIR_LOCKED', domain: 'internal', retriable: true, at: { task: taskId } },
  );
}

/** Claims the lowest free slot of `<stateDir>/<applicationId>` for this instance. */
export function claimInstanceDir(stateDir: string, applicationId: string): InstanceClaim {
  const dir = path.resolve(stateDir, applicationId);
  fs.mkdirSync(dir, { recursive: true });
  let slot = 0;
  let lock = '';
  for (; ; slot++) {
    lock = path.join(dir, `.instance-${slot}.lock`);
    if (!claimed.has(lock) && take(lock)) break;
  }
  claimed.add(lock);
  const idFile = path.join(dir, `.process-id-${slot}`);
  let processId = fs.existsSync(idFile) ? fs.readFileSync(idFile, 'utf8').trim() : '';
  if (!/^[0-9a-f]{8}$/.test(processId)) {
    processId = randomUUID().slice(0, 8);
    fs.writeFileSync(idFile, processId);
  }
  let released = false;
  return {
    processId,
    release() {
      if (released) return;
      released = true;
      give(lock);
    },
  };
}
