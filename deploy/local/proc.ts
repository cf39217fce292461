/**
 * Starting, watching and stopping server processes by pid. Nothing here ever
 * matches processes by name: we stop exactly the pids we recorded.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export class InfraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfraError';
  }
}

/** Fails with one line naming what to install when a command is missing. */
export function requireCommand(cmd: string, install: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new InfraError(`${cmd} not found: ${install}`);
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; log?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    encoding: 'utf8',
    env: opts.env ?? process.env,
    maxBuffer: 64 << 20,
  });
  if (opts.log)
    fs.appendFileSync(opts.log, `$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new InfraError(
      `${cmd} ${args.slice(0, 3).join(' ')} … failed (exit ${r.status}):\n${tail}`,
    );
  }
  return r.stdout;
}

/** Starts a detached process writing to `logFile`; returns its pid. */
export function startDetached(
  cmd: string,
  args: string[],
  logFile: string,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new InfraError(`could not start ${cmd}; see ${logFile}`);
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns true. Fails early, with the log's tail, if the
 * process died; fails after `timeoutMs` otherwise.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { pid?: number; logFile?: string; timeoutMs: number; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new InfraError(`${what} exited during start-up:\n${logTail(opts.logFile)}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
  throw new InfraError(
    `${what} not ready after ${opts.timeoutMs / 1000}s:\n${logTail(opts.logFile)}`,
  );
}

export function logTail(file: string | undefined, lines = 20): string {
  if (!file || !fs.existsSync(file)) return '(no log)';
  return (
    fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') + `\n(log: ${file})`
  );
}

/** SIGTERM the pid (and its process group), wait, then SIGKILL. */
export async function stopPid(pid: number, graceMs = 15_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (!isAlive(pid)) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.status < 500;
}
