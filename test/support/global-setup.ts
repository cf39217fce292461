/**
 * Vitest global setup for integration and e2e tests: starts the real servers that are
 * absent (Kafka, schema registry, Snowflake emulator) and, at the end, stops exactly
 * the ones it started — by pid. Servers already running are reused and left alone.
 */
import type { TestProject } from 'vitest/node';
import { endpoints, loadConfig } from '../../deploy/local/config.js';
import { down, up } from '../../deploy/local/infra.js';
import type { ServiceEntry } from '../../deploy/local/state.js';

let started: ServiceEntry[] = [];

export async function setup(project: TestProject): Promise<void> {
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
