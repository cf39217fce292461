/**
 * A Confluent-compatible schema registry: Apicurio Registry's published app
 * (`io.apicurio:apicurio-registry-app`, the `all` archive), whose `/apis/ccompat/v7` API is
 * what @kafkajs/confluent-schema-registry talks to.
 *
 * Its storage is the app's H2 database pointed at a file under the run directory instead
 * of H2's memory: Kafka keeps its log on disk across restarts, and records framed with a
 * schema id are unreadable once the registry that issued the id has forgotten it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { InfraConfig } from './config.js';
import { httpOk, InfraError, portOpen, requireCommand, run, startDetached } from './proc.js';
import { liveService, recordWhenReady, type ServiceEntry } from './state.js';

function home(cfg: InfraConfig): string {
  return path.join(cfg.cacheDir, `apicurio-registry-${cfg.registry.version}`);
}

/** Downloads and unpacks the registry (once). Returns the runner jar. */
export function ensureRegistry(cfg: InfraConfig, log: string): string {
  const dir = home(cfg);
  const jar = path.join(dir, `apicurio-registry-app-${cfg.registry.version}-runner.jar`);
  if (fs.existsSync(path.join(dir, '.complete'))) return jar;
  requireCommand(
    'java',
    'install a JDK 17 or newer (e.g. `apt-get install openjdk-17-jdk-headless`) and retry',
  );
  requireCommand('mvn', 'install Apache Maven (e.g. `apt-get install maven`) and retry');
  requireCommand('tar', 'install tar and retry');
  fs.mkdirSync(dir, { recursive: true });
  const artifact = `io.apicurio:apicurio-registry-app:${cfg.registry.version}:tar.gz:all`;
  run(
    'mvn',
    ['-q', '-B', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${dir}`],
    { cwd: dir, log },
  );
  const archive = fs.readdirSync(dir).find((f) => f.endsWith('.tar.gz'));
  if (!archive) throw new InfraError(`Maven fetched no archive for ${artifact}; see ${log}`);
  run('tar', ['xzf', archive], { cwd: dir, log });
  fs.rmSync(path.join(dir, archive));
  if (!fs.existsSync(jar)) throw new InfraError(`${jar} missing after unpacking ${artifact}`);
  fs.writeFileSync(path.join(dir, '.complete'), new Date().toISOString());
  return jar;
}

/** The registry's H2 database (file `<runDir>/registry/data/registry.mv.db`), kept across restarts. */
export function registryDataDir(cfg: InfraConfig): string {
  return path.join(cfg.runDir, 'registry', 'data');
}

function java(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

export async function registryUp(cfg: InfraConfig, log: string): Promise<ServiceEntry[]> {
  const url = `http://${cfg.host}:${cfg.registry.port}/apis/ccompat/v7/subjects`;
  if (liveService(cfg.runDir, 'registry')) return [];
  if (await portOpen(cfg.host, cfg.registry.port)) {
    if (await httpOk(url).catch(() => false)) return []; // someone else's registry: use it
    throw new InfraError(
      `port ${cfg.registry.port} is taken by a non-registry process; set MILLRACE_REGISTRY_PORT`,
    );
  }
  const jar = ensureRegistry(cfg, log);
  try {
    return await startRegistry(cfg, jar, url);
  } catch (err) {
    // A registry stopped while it created its tables leaves a database it cannot open
    // again ("Table … not found" at every start): set it aside once and start afresh.
    const moved = setAsideHalfCreatedDatabase(cfg);
    if (!moved) throw err;
    process.stderr.write(
      `infra: the schema registry could not open its database (left half-created by an ` +
        `earlier start); moved it to ${moved} and started with a new one: the schemas ` +
        `registered before are not in it\n`,
    );
    return startRegistry(cfg, jar, url);
  }
}

function startRegistry(cfg: InfraConfig, jar: string, url: string): Promise<ServiceEntry[]> {
  const logFile = registryLogFile(cfg);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, '');
  const dataDir = registryDataDir(cfg);
  fs.mkdirSync(dataDir, { recursive: true });
  const pid = startDetached(
    java(),
    [
      `-Xmx${cfg.registry.heap}`,
      `-Dquarkus.http.port=${cfg.registry.port}`,
      `-Dquarkus.http.host=${cfg.host}`,
      '-Dquarkus.log.level=WARN',
      '-Dregistry.ccompat.legacy-id-mode.enabled=true',
      `-Dquarkus.datasource.jdbc.url=jdbc:h2:file:${path.join(dataDir, 'registry')}`,
      '-jar',
      jar,
    ],
    logFile,
    { cwd: path.dirname(jar) },
  );
  return recordWhenReady(
    cfg.runDir,
    { name: 'registry', pid, port: cfg.registry.port, logFile },
    { what: 'schema registry', check: () => httpOk(url), timeoutMs: 120_000 },
  );
}

function registryLogFile(cfg: InfraConfig): string {
  return path.join(cfg.runDir, 'registry', 'registry.log');
}

/** The H2 error of a database whose tables were only partly created. */
const HALF_CREATED = /JdbcSQLSyntaxErrorException: Table "[^"]+" not found/;

/**
 * When the registry's last start failed on a database it could not open, moves the
 * database aside (`data.broken-<time>`) and returns where; otherwise undefined.
 */
export function setAsideHalfCreatedDatabase(cfg: InfraConfig): string | undefined {
  const dataDir = registryDataDir(cfg);
  const logged = fs.existsSync(registryLogFile(cfg))
    ? fs.readFileSync(registryLogFile(cfg), 'utf8')
    : '';
  if (!HALF_CREATED.test(logged) || !fs.existsSync(dataDir)) return undefined;
  const aside = `${dataDir}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(dataDir, aside);
  return aside;
}
