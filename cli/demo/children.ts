/**
 * The demo's processes: each a `millrace` sub-command of its own. Keeps each one's last
 * output line, collects warnings and failures for the screen, and tells the demo when one
 * of them exits while it is not stopping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { millraceBin } from '../self.js';

/** How long a process may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 15_000;
/** How many recent warnings the screen shows. */
const KEPT_WARNINGS = 5;

export interface DemoChild {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  lastLine: string;
  /** The first JSON line with `"event":"started"` the process printed, if any. */
  started?: Record<string, unknown>;
}

/** Lines of the demo's processes that say something went wrong (the newest last). */
export class Warnings {
  readonly lines: string[] = [];

  add(name: string, line: string): void {
    if (!/"level":"(error|warn)"|"event":"failed"/i.test(line)) return;
    this.lines.push(`${name}: ${line.slice(0, 300)}`);
    if (this.lines.length > KEPT_WARNINGS) this.lines.shift();
  }
}

/** Starts `millrace <args>` as process `name`. */
export function startChild(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  warnings: Warnings,
): DemoChild {
  // The millrace bin needs no loader; the user's folder stays the cwd.
  const child = spawn(process.execPath, [millraceBin, ...args], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: DemoChild = {
    name,
    child,
    lastLine: '',
    exited: new Promise((r) => child.once('exit', (code) => r(code))),
  };
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      p.lastLine = line;
      p.started ??= startedEvent(line);
      warnings.add(name, line);
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return p;
}

function startedEvent(line: string): Record<string, unknown> | undefined {
  if (!line.includes('"event":"started"')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onExit` when any of `children` exits; every process the demo keeps running is
 * watched, whatever its role (the ingest included).
 */
export function watchChildren(
  children: readonly DemoChild[],
  onExit: (c: DemoChild, code: number | null) => void,
): void {
  for (const c of children) void c.exited.then((code) => onExit(c, code));
}

/** SIGTERM to every child still running; SIGKILL to those still running after the grace. */
export async function stopChildren(children: readonly DemoChild[]): Promise<void> {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
  const killer = setTimeout(() => children.forEach((c) => c.child.kill('SIGKILL')), STOP_GRACE_MS);
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(killer);
}
