/**
 * A Snowflake emulator speaking Snowflake's HTTP protocol: `fakesnow[server]` from PyPI,
 * in a virtualenv under the cache folder. snowflake-sdk connects to it over http.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InfraConfig } from './config.js';
import { portOpen, requireCommand, run, startDetached } from './proc.js';
import { liveService, recordWhenReady, type ServiceEntry } from './state.js';

// fakesnow 0.12 imports modules that snowflake-connector-python 5 moved; 4.x works.
const CONNECTOR_PIN = 'snowflake-connector-python>=4,<5';

export function venvDir(cfg: InfraConfig): string {
  return path.join(cfg.cacheDir, `fakesnow-${cfg.fakesnow.version}`, 'venv');
}

/** Creates the virtualenv and installs fakesnow (once). Returns the venv's bin folder. */
export function ensureFakesnow(cfg: InfraConfig, log: string): string {
  const venv = venvDir(cfg);
  const bin = path.join(venv, 'bin');
  if (fs.existsSync(path.join(venv, '.complete'))) return bin;
  requireCommand(
    'python3',
    'install Python 3.10 or newer with venv (e.g. `apt-get install python3 python3-venv`) and retry',
  );
  fs.rmSync(venv, { recursive: true, force: true });
  run('python3', ['-m', 'venv', venv], { log });
  run(
    path.join(bin, 'pip'),
    [
      'install',
      '-q',
      '--disable-pip-version-check',
      `fakesnow[server]==${cfg.fakesnow.version}`,
      CONNECTOR_PIN,
    ],
    { log },
  );
  fs.writeFileSync(path.join(venv, '.complete'), new Date().toISOString());
  return bin;
}

/** fakesnow, then the gateway that makes its answers readable by snowflake-sdk (see snowflake-gateway.ts). */
export async function snowflakeUp(cfg: InfraConfig, log: string): Promise<ServiceEntry[]> {
  const started = await fakesnowUp(cfg, log);
  return [...started, ...(await gatewayUp(cfg))];
}

async function gatewayUp(cfg: InfraConfig): Promise<ServiceEntry[]> {
  if (liveService(cfg.runDir, 'snowflake-gateway')) return [];
  if (await portOpen(cfg.host, cfg.fakesnow.gatewayPort)) return []; // already there (someone else's): use it
  const logFile = path.join(cfg.runDir, 'fakesnow', 'gateway.log');
  // Beside this file: the TypeScript source (run through tsx) or, installed, the built .js.
  const self = fileURLToPath(import.meta.url);
  const script = path.join(path.dirname(self), `snowflake-gateway${path.extname(self)}`);
  const tsx = path.join(cfg.repoRoot, 'node_modules', '.bin', 'tsx');
  const [command, first] = script.endsWith('.ts') ? [tsx, [script]] : [process.execPath, [script]];
  const args = [
    ...first,
    '--port',
    String(cfg.fakesnow.gatewayPort),
    '--upstream',
    `http://${cfg.host}:${cfg.fakesnow.port}`,
    '--host',
    cfg.host,
  ];
  const pid = startDetached(command, args, logFile);
  const port = cfg.fakesnow.gatewayPort;
  return recordWhenReady(
    cfg.runDir,
    { name: 'snowflake-gateway', pid, port, logFile },
    { what: 'snowflake gateway', check: () => portOpen(cfg.host, port), timeoutMs: 30_000 },
  );
}

export async function fakesnowUp(cfg: InfraConfig, log: string): Promise<ServiceEntry[]> {
  if (liveService(cfg.runDir, 'fakesnow')) return [];
  if (await portOpen(cfg.host, cfg.fakesnow.port)) return []; // someone else's emulator: use it
  const bin = ensureFakesnow(cfg, log);
  const logFile = path.join(cfg.runDir, 'fakesnow', 'fakesnow.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, '');
  const pid = startDetached(
    path.join(bin, 'fakesnow'),
    ['-s', '--host', cfg.host, '-p', String(cfg.fakesnow.port)],
    logFile,
  );
  const port = cfg.fakesnow.port;
  return recordWhenReady(
    cfg.runDir,
    { name: 'fakesnow', pid, port, logFile },
    { what: 'fakesnow', check: () => portOpen(cfg.host, port), timeoutMs: 60_000 },
  );
}
