/**
 * The local Kafka and schema registry for `millrace demo`, started through the repository's
 * stack script (deploy/local/infra.ts) as a child process: the command does not import the
 * stack's code, and a copy of millrace without deploy/local gets a message naming the fix.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { packageRoot } from '../self.js';

const root = packageRoot;
const SCRIPT = path.join(root, 'deploy', 'local', 'infra.ts');

/** The running stack: where to reach it, and how to stop what this call started. */
export interface LocalStack {
  kafkaBrokers: string[];
  registryUrl: string;
  /** The servers this call started (the ones already running are reused and left alone). */
  started: string[];
  stop(): Promise<void>;
}

interface ScriptResult {
  code: number | null;
  lines: string[];
  stderr: string;
}

function runScript(args: string[], onLine: (line: string) => void): Promise<ScriptResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: root,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      onLine(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('exit', (code) => resolve({ code, lines, stderr: stderr.trim() })),
  );
}

/** The stack's failure, as the stack script said it (exit 3: a server would not start). */
class StackError extends Error {
  readonly domain = 'external' as const;
}

/** Starts Kafka and the registry when they are not running; `progress` gets each step. */
export async function startLocalStack(progress: (line: string) => void): Promise<LocalStack> {
  if (!fs.existsSync(SCRIPT))
    throw new UsageError(
      `the local stack script ${SCRIPT} is not in this copy of millrace: run the demo from a clone of the repository`,
    );
  const up = await runScript(['up', '--only', 'kafka,registry', '--json'], (l) => {
    if (l.startsWith('infra: ')) progress(l.slice('infra: '.length));
  });
  const ready = up.lines.filter((l) => l.startsWith('{')).at(-1);
  if (up.code !== 0 || !ready)
    throw new StackError(`the local stack did not start: ${up.stderr || up.lines.at(-1) || ''}`);
  const { started, kafkaBrokers, registryUrl } = JSON.parse(ready) as Omit<LocalStack, 'stop'>;
  return {
    started,
    kafkaBrokers,
    registryUrl,
    stop: async () => {
      if (started.length) await runScript(['down', '--names', started.join(',')], () => {});
    },
  };
}
