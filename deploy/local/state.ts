/**
 * The record of what the local stack started: one entry per server process, kept in
 * `<runDir>/infra.json`. `down` stops exactly these pids and nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, stopPid, waitFor } from './proc.js';

export interface ServiceEntry {
  /** e.g. `kafka-1`, `registry`, `fakesnow`. */
  name: string;
  pid: number;
  port: number;
  logFile: string;
  startedAt: string;
}

interface StateFile {
  services: Record<string, ServiceEntry>;
}

function file(runDir: string): string {
  return path.join(runDir, 'infra.json');
}

export function readState(runDir: string): StateFile {
  try {
    return JSON.parse(fs.readFileSync(file(runDir), 'utf8')) as StateFile;
  } catch {
    return { services: {} };
  }
}

function writeState(runDir: string, state: StateFile): void {
  fs.mkdirSync(runDir, { recursive: true });
  const tmp = `${file(runDir)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
  fs.renameSync(tmp, file(runDir));
}

export function recordService(runDir: string, entry: ServiceEntry): void {
  const state = readState(runDir);
  state.services[entry.name] = entry;
  writeState(runDir, state);
}

export function forgetService(runDir: string, name: string): void {
  const state = readState(runDir);
  delete state.services[name];
  writeState(runDir, state);
}

/** The entry for `name` if its process is still alive (stale entries are dropped). */
export function liveService(runDir: string, name: string): ServiceEntry | undefined {
  const entry = readState(runDir).services[name];
  if (!entry) return undefined;
  if (isAlive(entry.pid)) return entry;
  forgetService(runDir, name);
  return undefined;
}

/** Waits for `ready`; if it fails, stops and forgets the entries so nothing is left behind. */
export async function readyOrStop(
  runDir: string,
  entries: ServiceEntry[],
  ready: () => Promise<void>,
): Promise<void> {
  try {
    await ready();
  } catch (err) {
    await Promise.all(entries.map((e) => stopPid(e.pid)));
    for (const e of entries) forgetService(runDir, e.name);
    throw err;
  }
}

/**
 * Records a server just started and waits until `ready.check` holds (or the process
 * exits, or `ready.timeoutMs` passes: then it is stopped and forgotten). Returns its entry.
 */
export async function recordWhenReady(
  runDir: string,
  server: Omit<ServiceEntry, 'startedAt'>,
  ready: { what: string; check: () => Promise<boolean>; timeoutMs: number },
): Promise<ServiceEntry[]> {
  const entry = { ...server, startedAt: new Date().toISOString() };
  recordService(runDir, entry);
  const { pid, logFile } = entry;
  await readyOrStop(runDir, [entry], () =>
    waitFor(ready.what, ready.check, { pid, logFile, timeoutMs: ready.timeoutMs }),
  );
  return [entry];
}
