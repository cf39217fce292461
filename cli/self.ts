/**
 * Where millrace itself is: the package root (the repository, or node_modules/millrace
 * when installed — this file is then dist/cli/self.js) and its `millrace` bin, for
 * commands that start millrace processes of their own (`millrace demo`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The folder holding millrace's package.json. */
export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** The `millrace` command's script (run it with `process.execPath`). */
export const millraceBin = path.join(packageRoot, 'bin', 'millrace.js');

/** The flagship app's folder (apps/finnhub-vwap; installed, dist/apps/finnhub-vwap). */
export const finnhubVwapApp = fileURLToPath(new URL('../apps/finnhub-vwap', import.meta.url));
