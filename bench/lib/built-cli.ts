/**
 * The `millrace` command as an installed package runs it: the compiled JavaScript in dist/
 * with plain node (no TypeScript loader), which the benchmarks measure. In the repository
 * `bin/millrace.js` runs the TypeScript sources through tsx unless MILLRACE_BUILT=1; tsx
 * costs an instance about 35 MiB of RSS (118 against 83 MiB with the CLI loaded and idle).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, startProcess, type Child } from '../../harness/processes.js';

/** Compiles dist/ (`npm run build`); throws if it fails. */
export function buildCli(log: (m: string) => void): void {
  log('building dist/ (npm run build): the benchmarks run the built CLI, as installed');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/build.mjs')], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status})`);
}

/** Environment that makes bin/millrace.js run dist/ (see bin/millrace.js). */
export const BUILT_ENV = { MILLRACE_BUILT: '1' } as const;

/** The flagship app folder in dist/ (its app.js imports the compiled framework beside it). */
export const BUILT_FLAGSHIP = 'dist/apps/finnhub-vwap';

/** Starts `millrace <args>` from dist/ with plain node, watched like startChild's children. */
export function startBuiltCli(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Child {
  return startProcess(
    name,
    process.execPath,
    [...nodeArgs, path.join(repoRoot, 'bin/millrace.js'), ...args],
    { cwd: repoRoot, env: { ...env, ...BUILT_ENV } },
  );
}
