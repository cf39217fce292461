/**
 * Child processes for e2e tests and benchmarks: start a TypeScript entry point as its own process,
 * read its JSON-lines output, and signal it (SIGKILL, SIGSTOP/SIGCONT, SIGTERM) by
 * pid. Every process started here is stopped by `stopAll()`; nothing is matched by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository's root (children start there). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** tsx's loader by path, so that a child started in another folder finds it too. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Every stdout line parsed as JSON (other lines are kept as `{ text }`). */
  lines: Array<Record<string, unknown>>;
  stderr: string[];
  exited: Promise<number | null>;
  signal(sig: NodeJS.Signals): void;
  /** Resolves with the first line for which `match` is true (lines seen earlier count too). */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

const children = new Set<Child>();

export function startChild(
  name: string,
  entry: string,
  args: string[] = [],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  cwd = repoRoot,
): Child {
  return startProcess(
    name,
    process.execPath,
    [...nodeArgs, '--import', tsx, path.resolve(repoRoot, entry), ...args],
    { cwd, env },
  );
}

/** Starts any command as a watched child (stopped by `stopAll()` like the others). */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Child['lines'] = [];
  const stderr: string[] = [];
  const waiters: Array<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buf = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const raw = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        line = { text: raw };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (!w.match(line)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  // MILLRACE_TEST_LOG_DIR=dir keeps each child's stderr in <dir>/<name>-<pid>.log and its
  // stdout in .out (debugging).
  const logDir = process.env.MILLRACE_TEST_LOG_DIR;
  if (logDir) {
    fs.mkdirSync(logDir, { recursive: true });
    const file = fs.createWriteStream(path.join(logDir, `${name}-${proc.pid}.log`));
    proc.stderr!.pipe(file);
    proc.stdout!.pipe(fs.createWriteStream(path.join(logDir, `${name}-${proc.pid}.out`)));
  }
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  const child: Child = {
    name,
    proc,
    pid: proc.pid!,
    lines,
    stderr,
    exited,
    signal: (sig) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    },
    waitFor: (match, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find(match);
        if (seen) return resolve(seen);
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `${name}: no matching line in ${timeoutMs} ms; stderr: ${stderr.join('').slice(-2000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${name} exited (${code}) before a matching line; stderr: ${stderr.join('').slice(-2000)}`,
            ),
          );
        });
      }),
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** SIGKILLs every child still running (those this module started, by pid). */
export async function stopAll(): Promise<void> {
  const running = [...children];
  for (const c of running) {
    c.signal('SIGCONT');
    c.signal('SIGKILL');
  }
  await Promise.all(running.map((c) => c.exited));
}

/**
 * What children said last, for a failure message: per child its last `n` stdout lines
 * (JSON, as printed) and the end of its stderr.
 */
export function recentOutput(of: readonly Child[], n = 15): string {
  return of
    .map((c) => {
      const out = c.lines.slice(-n).map((l) => JSON.stringify(l));
      const err = c.stderr.join('').slice(-2000);
      return [
        `--- ${c.name} (pid ${c.pid}), last ${out.length} lines:`,
        ...out,
        err && `stderr: ${err}`,
      ]
        .filter(Boolean)
        .join('\n');
    })
    .join('\n');
}
