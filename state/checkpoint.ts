/**
 * A task's checkpoint: per store, the changelog offset its local state reflects after the
 * last clean commit or close. One JSON file per task, written atomically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StateStoreError } from './errors.js';

const FORMAT = 1;

export function taskDir(stateDir: string, applicationId: string, taskId: string): string {
  return path.join(stateDir, applicationId, taskId);
}

export function checkpointFile(dir: string): string {
  return path.join(dir, '.checkpoint');
}

export async function readCheckpoint(dir: string): Promise<Map<string, number> | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(checkpointFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as { format?: number; offsets?: Record<string, number> };
  if ((parsed.format ?? 0) > FORMAT) {
    throw new StateStoreError(
      `the checkpoint in ${dir} was written by a newer millrace (format ${parsed.format}); delete ${dir} (it is rebuilt from the changelog) or run \`millrace reset\``,
      {
        code: 'CHECKPOINT_TOO_NEW',
        domain: 'user',
      },
    );
  }
  return new Map(Object.entries(parsed.offsets ?? {}));
}

/** Writes the checkpoint atomically: a temp file, fsync, rename. */
export async function writeCheckpoint(dir: string, offsets: Map<string, number>): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = `${checkpointFile(dir)}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify({ format: FORMAT, offsets: Object.fromEntries(offsets) }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, checkpointFile(dir));
}

export async function removeCheckpoint(dir: string): Promise<void> {
  await fs.promises.rm(checkpointFile(dir), { force: true });
}

/** Deletes the task's whole local state (stores and checkpoint). */
export async function wipeTaskState(dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
}
