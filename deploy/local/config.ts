/**
 * Settings of the local stack, from the environment with defaults. Every port,
 * version and folder can be changed with a `MILLRACE_*` variable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** In the repository this file is deploy/local/config.ts; installed, dist/deploy/local/config.js. */
const fromSources = fs.existsSync(path.join(here, 'config.ts'));
const repoRoot = path.resolve(here, ...(fromSources ? ['..', '..'] : ['..', '..', '..']));
/**
 * Downloads and server state: the repository's .cache/ and .run/; for the installed
 * package (`npx millrace demo` in a project), .millrace/cache and .millrace/run in the
 * working directory, beside the demo's state, rather than inside node_modules.
 */
const localRoot = fromSources ? repoRoot : path.resolve('.millrace');

function env(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

function port(name: string, fallback: number): number {
  const raw = env(name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) {
    throw new Error(
      `${name}=${raw} is not a port; set it to a number between 1 and 65535 or unset it`,
    );
  }
  return n;
}

export interface InfraConfig {
  repoRoot: string;
  /** Downloads: Kafka jars, the registry archive, the Python virtualenv. Git ignores it. */
  cacheDir: string;
  /** Pids, logs and data of running servers. Git ignores it. */
  runDir: string;
  host: string;
  kafka: { version: string; port: number; controllerPort: number; heap: string };
  registry: { version: string; port: number; heap: string };
  fakesnow: { version: string; port: number; gatewayPort: number };
}

export function loadConfig(): InfraConfig {
  const cacheDir = path.resolve(
    env('MILLRACE_CACHE_DIR', path.join(localRoot, fromSources ? '.cache' : 'cache')),
  );
  const runDir = path.resolve(
    env('MILLRACE_RUN_DIR', path.join(localRoot, fromSources ? '.run' : 'run')),
  );
  return {
    repoRoot,
    cacheDir,
    runDir,
    host: '127.0.0.1',
    kafka: {
      version: env('MILLRACE_KAFKA_VERSION', '4.4.0'),
      port: port('MILLRACE_KAFKA_PORT', 9092),
      controllerPort: port('MILLRACE_KAFKA_CONTROLLER_PORT', 19092),
      heap: env('MILLRACE_KAFKA_HEAP', '1g'),
    },
    registry: {
      version: env('MILLRACE_REGISTRY_VERSION', '2.6.13.Final'),
      port: port('MILLRACE_REGISTRY_PORT', 8081),
      heap: env('MILLRACE_REGISTRY_HEAP', '384m'),
    },
    fakesnow: {
      version: env('MILLRACE_FAKESNOW_VERSION', '0.12.1'),
      port: port('MILLRACE_FAKESNOW_PORT', 8085),
      gatewayPort: port('MILLRACE_SNOWFLAKE_GATEWAY_PORT', 8086),
    },
  };
}

/** Client-side addresses of the local stack, for tests and the smoke pipeline. */
export function endpoints(cfg: InfraConfig = loadConfig(), brokers = 1) {
  const kafka = Array.from({ length: brokers }, (_, i) => `${cfg.host}:${cfg.kafka.port + i}`);
  return {
    kafkaBrokers: kafka,
    registryUrl: `http://${cfg.host}:${cfg.registry.port}/apis/ccompat/v7`,
    /** fakesnow itself (what the integration tests put their own gateway in front of). */
    snowflake: { host: cfg.host, port: cfg.fakesnow.port, protocol: 'http' as const },
    /** The JSON-result gateway in front of fakesnow: where snowflake-sdk connects. */
    snowflakeGateway: { host: cfg.host, port: cfg.fakesnow.gatewayPort, protocol: 'http' as const },
  };
}
