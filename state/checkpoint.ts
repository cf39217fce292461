/**
 * A task's checkpoint: per store, the changelog offset its local state reflects after the
 * last clean commit or close. One JSON file per task, `<stateDir>/<app>/<task>/.checkpoint`:
 * `{"format": 1, "offsets": {"<store>": <offset>}}`, written atomically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StateStoreError } from './errors.js';

/** Format version this code writes; files with a higher one are refused. */
export const CHECKPOINT_FORMAT = 1;

/** A task's state directory: `<stateDir>/<applicationId>/<taskId>`. */
export function taskDir(stateDir: string, applicationId: string, taskId: string): string {
  return path.join(stateDir, applicationId, taskId);
}

/** A LevelDB store's directory: `<stateDir>/<applicationId>/<taskId>/<store>`. */
export function storeDir(
  stateDir: string,
  applicationId: string,
  taskId: string,
  store: string,
): string {
  return path.join(taskDir(stateDir, applicationId, taskId), store);
}

function checkpointFile(dir: string): string {
  return path.join(dir, '.checkpoint');
}

/**
 * Reads the checkpoint of the task directory `dir`: store name → changelog offset, or
 * undefined when there is none. Throws StateStoreError when it was written by a newer
 * format or cannot be read.
 */
export async function readCheckpoint(dir: string): Promise<Map<string, number> | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(checkpointFile(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateStoreError(
      `cannot read the checkpoint ${checkpointFile(dir)}: ${(err as Error).message}`,
      { code: 'CHECKPOINT_UNREADABLE', domain: 'external', retriable: true, cause: err },
    );
  }
  return parseCheckpoint(dir, text);
}

function parseCheckpoint(dir: string, text: string): Map<string, number> {
  let doc: { format?: unknown; offsets?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw invalid(dir, 'it is not JSON', err);
  }
  if (typeof doc.format !== 'number') throw invalid(dir, 'it has no format version');
  if (doc.format > CHECKPOINT_FORMAT) {
    throw new StateStoreError(
      `the checkpoint in ${dir} was written by a newer millrace (checkpoint format ${doc.format}, this version reads ${CHECKPOINT_FORMAT}); run the newer version, or delete ${dir} (its state is rebuilt from the changelog) or run \`millrace reset\``,
      { code: 'CHECKPOINT_TOO_NEW', domain: 'user' },
    );
  }
  const offsets = Object.entries((doc.offsets ?? {}) as Record<string, unknown>);
  if (offsets.some(([, o]) => !Number.isSafeInteger(o) || (o as number) < 0))
    throw invalid(dir, 'an offset is not a non-negative integer');
  return new Map(offsets as Array<[string, number]>);
}

function invalid(dir: string, why: string, cause?: unknown): StateStoreError {
  return new StateStoreError(
    `the checkpoint ${checkpointFile(dir)} is invalid (${why}); delete it and the task restores its state from the changelog`,
    { code: 'CHECKPOINT_INVALID', domain: 'user', cause },
  );
}

let tmpSeq = 0;

/**
 * Writes the checkpoint of task directory `dir` atomically: a temporary file, fsync,
 * rename over the old one, fsync of the directory. A crash leaves the old file or the new
 * one, never a torn one.
 */
export async function writeCheckpoint(
  dir: string,
  offsets: ReadonlyMap<string, number>,
): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const file = checkpointFile(dir);
  const tmp = `${file}.${process.pid}-${++tmpSeq}.tmp`;
  const doc = { format: CHECKPOINT_FORMAT, offsets: Object.fromEntries(offsets) };
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(doc) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Deletes the checkpoint of task directory `dir` (absent is fine). */
export async function removeCheckpoint(dir: string): Promise<void> {
  await fs.promises.rm(checkpointFile(dir), { force: true });
  await syncDir(dir).catch(() => {});
}

/** Deletes the task's whole local state: every store and the checkpoint. Close its stores first. */
export async function wipeTaskState(dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
}
