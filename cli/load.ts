/**
 * Finds the topology a command names: a YAML/JSON topology file, or an app folder whose
 * `app.ts` exports `topology()` (e.g. `apps/finnhub-vwap`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import '../processors/index.js';
import { buildTopology, loadTopologyFile, type BuiltTopology } from '../topology/index.js';
import { UsageError } from './errors.js';

export interface AppModule {
  /** The app's topology, built. */
  topology(): BuiltTopology | Promise<BuiltTopology>;
  /** The app's default application id. */
  applicationId?: string;
}

export async function loadTopology(
  target: string,
): Promise<{ topology: BuiltTopology; app?: AppModule; name: string }> {
  const p = path.resolve(target);
  if (!fs.existsSync(p))
    throw new UsageError(
      `${target} does not exist; pass a topology file (.yaml, .yml, .json) or an app folder such as apps/finnhub-vwap`,
    );
  if (fs.statSync(p).isDirectory()) {
    const entry = ['app.ts', 'index.ts'].map((f) => path.join(p, f)).find((f) => fs.existsSync(f));
    if (!entry)
      throw new UsageError(`${target} has no app.ts; an app folder exports topology() from app.ts`);
    const app = (await import(pathToFileURL(entry).href)) as AppModule;
    if (typeof app.topology !== 'function')
      throw new UsageError(`${entry} does not export topology()`);
    return { topology: await app.topology(), app, name: path.basename(p) };
  }
  const spec = loadTopologyFile(p);
  return {
    topology: buildTopology(spec),
    name: spec.name ?? path.basename(p).replace(/\.(ya?ml|json)$/, ''),
  };
}
