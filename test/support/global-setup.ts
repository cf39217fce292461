/**
 * Vitest global setup for integration and e2e tests: installs the system tools the
 * integration layer drives (Prometheus, Chromium: deploy/local/ensure-tools.sh, from
 * Debian's apt) when they are missing, starts the real servers that are absent (Kafka,
 * schema registry, Snowflake emulator) and, at the end, stops exactly the ones it
 * started — by pid. Servers already running are reused and left alone. A tool that
 * cannot be installed stops the run with one line saying what to run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { endpoints, loadConfig } from '../../deploy/local/config.js';
import { down, up } from '../../deploy/local/infra.js';
import type { ServiceEntry } from '../../deploy/local/state.js';
import { findExecutable } from './tools.js';

let started: ServiceEntry[] = [];

const ensureTools = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../deploy/local/ensure-tools.sh',
);

/**
 * Prometheus and Chromium for the integration layer, unless a test run opts out of
 * them explicitly (MILLRACE_SKIP_PROMETHEUS=1, MILLRACE_SKIP_BROWSER=1).
 */
function installTools(project: TestProject): void {
  if (project.name !== 'integration') return;
  const missing = [
    process.env.MILLRACE_SKIP_PROMETHEUS === '1' ? undefined : 'prometheus',
    process.env.MILLRACE_SKIP_BROWSER === '1' ? undefined : 'chromium',
  ].filter((t): t is string => t !== undefined && !findExecutable(t));
  if (!missing.length) return;
  console.log(`[global-setup] installing ${missing.join(' and ')} (deploy/local/ensure-tools.sh)`);
  const r = spawnSync('bash', [ensureTools, ...missing], { stdio: 'inherit' });
  if (r.status === 0) return;
  const err = new Error(
    `${missing.join(' and ')} could not be installed (the observability tests run them): ` +
      `run \`sudo bash deploy/local/ensure-tools.sh\` (Debian/Ubuntu) or install them with your package manager, then npm test again`,
  );
  err.stack = `Error: ${err.message}`; // one line, not a trace of vitest's internals
  throw err;
}

export async function setup(project: TestProject): Promise<void> {
  installTools(project);
  const cfg = loadConfig();
  const t0 = Date.now();
  started = await up({ progress: (l) => console.log(`[global-setup] ${l}`) }, cfg);
  const ep = endpoints(cfg);
  console.log(
    `[global-setup] real servers ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: kafka ${ep.kafkaBrokers.join(',')}, ` +
      `registry ${ep.registryUrl}, snowflake emulator http://${ep.snowflake.host}:${ep.snowflake.port}` +
      ` (gateway for snowflake-sdk :${ep.snowflakeGateway.port})` +
      ` (started by this run: ${started.map((s) => `${s.name} pid ${s.pid}`).join(', ') || 'none'})`,
  );
  project.provide('kafkaBrokers', ep.kafkaBrokers);
  project.provide('registryUrl', ep.registryUrl);
  project.provide('snowflake', ep.snowflake);
  project.provide('snowflakeGateway', ep.snowflakeGateway);
}

export async function teardown(): Promise<void> {
  const stopped = await down(started);
  console.log(
    `[global-setup] stopped what this run started: ${stopped.map((s) => `${s.name} pid ${s.pid}`).join(', ') || 'nothing'}`,
  );
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    registryUrl: string;
    /** fakesnow itself (answers SELECT in Arrow; tests put their own gateway in front). */
    snowflake: { host: string; port: number; protocol: 'http' };
    /** The gateway process in front of fakesnow (deploy/local/snowflake-gateway.ts): where snowflake-sdk connects. */
    snowflakeGateway: { host: string; port: number; protocol: 'http' };
  }
}
