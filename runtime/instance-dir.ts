/**
 * An instance's claim on a slot of its application's state directory
 * (`<stateDir>/<applicationId>`): a lock file naming the process that holds the slot, and a
 * process id kept beside it across restarts. Under exactly-once the process id names the
 * instance's transactional id, so a restarted instance (which takes the lowest free slot,
 * the one its crashed predecessor held when it ran alone) aborts at once what that
 * predecessor left open. Several instances may share one state directory (each task's
 * stores are locked on their own); each then holds a slot, and so a transactional id, of
 * its own: two live producers with one id would fence each other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isMainThread, threadId } from 'node:worker_threads';

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
      claimed.delete(lock);
      try {
        if (fs.readFileSync(lock, 'utf8').trim() === holderId) fs.rmSync(lock);
      } catch {
        /* removed already (e.g. by `millrace reset`) */
      }
    },
  };
}
