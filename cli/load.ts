/**
 * Finds the topology a command names: a YAML/JSON topology file; an app module (`.ts`,
 * `.mts`, `.js`, `.mjs`) that exports `topology()`; or an app folder whose `app.ts`,
 * `app.js`, `index.ts` or `index.js` does (e.g. `apps/finnhub-vwap`). TypeScript modules
 * are loaded with tsx (see ts-loader.ts); everything else with plain node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import '../processors/index.js';
import { buildTopology, loadTopologyFile, type BuiltTopology } from '../topology/index.js';
import { UsageError } from './errors.js';
import { ensureLoaderFor } from './ts-loader.js';

export interface AppModule {
  /** The app's topology, built. */
  topology(): BuiltTopology | Promise<BuiltTopology>;
  /** The app's default application id. */
  applicationId?: string;
}

const APP_ENTRIES = ['app.ts', 'app.js', 'app.mjs', 'index.ts', 'index.js', 'index.mjs'];
const MODULE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const TOPOLOGY_FILE = /\.(ya?ml|json)$/;

export async function loadTopology(
  target: string,
): Promise<{ topology: BuiltTopology; app?: AppModule; name: string }> {
  const p = path.resolve(target);
  if (!fs.existsSync(p))
    throw new UsageError(
      `${target} does not exist; pass a topology file (.yaml, .yml, .json), an app module (.ts, .js) or an app folder such as apps/finnhub-vwap`,
    );
  if (fs.statSync(p).isDirectory()) {
    const entry = APP_ENTRIES.map((f) => path.join(p, f)).find((f) => fs.existsSync(f));
    if (!entry)
      throw new UsageError(
        `${target} has no app.ts or app.js; an app folder exports topology() from app.ts (or app.js)`,
      );
    return loadApp(entry, path.basename(p));
  }
  if (MODULE_FILE.test(p)) return loadApp(p, path.basename(p).replace(MODULE_FILE, ''));
  const spec = loadTopologyFile(p);
  return {
    topology: buildTopology(spec),
    name: spec.name ?? path.basename(p).replace(TOPOLOGY_FILE, ''),
  };
}

async function loadApp(
  entry: string,
  name: string,
): Promise<{ topology: BuiltTopology; app: AppModule; name: string }> {
  await ensureLoaderFor(entry);
  const app = (await import(pathToFileURL(entry).href)) as AppModule;
  if (typeof app.topology !== 'function')
    throw new UsageError(`${entry} does not export topology()`);
  return { topology: await app.topology(), app, name };
}
