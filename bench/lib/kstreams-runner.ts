/**
 * Running Kafka Streams (bench/kafka-streams/) from a bench: building its jar when its
 * sources or the broker's Kafka version changed, the JVM's defaults, and one case in a JVM
 * of its own. Shared by `bench:kstreams` and `bench:compare`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { InfraConfig } from '../../deploy/local/config.js';
import { requireCommand, run as runCommand } from '../../deploy/local/proc.js';
import { buildFingerprint } from './kstreams-cases.js';

const project = path.resolve(import.meta.dirname, '..', 'kafka-streams');
/** No heap, GC or other tuning flags: the JVM's defaults for this machine. */
export const JVM_FLAGS: string[] = [];

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * Builds the jar unless the one in the cache was built from these sources for this Kafka
 * version; returns the classpath to run it with. Maven's repository and build output live
 * under the git-ignored cache folder.
 */
export function ensureJar(cfg: InfraConfig, log: (line: string) => void): string {
  const buildDir = path.join(cfg.cacheDir, 'kafka-streams-bench', 'target');
  const repo = path.join(cfg.cacheDir, 'm2');
  const jar = path.join(buildDir, 'kafka-streams-bench-1.jar');
  const classpath = path.join(buildDir, 'classpath.txt');
  const stamp = path.join(buildDir, '.fingerprint');
  const files = [path.join(project, 'pom.xml'), ...sourceFiles(path.join(project, 'src'))];
  const fingerprint = buildFingerprint(
    cfg.kafka.version,
    files.map((f) => ({ path: path.relative(project, f), content: fs.readFileSync(f) })),
  );
  const built = fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === fingerprint;
  // The classpath names jars by absolute path: a checkout that moved (or a cache copied from
  // another one) must be built again.
  const jarsThere =
    fs.existsSync(classpath) &&
    fs
      .readFileSync(classpath, 'utf8')
      .trim()
      .split(':')
      .every((f) => fs.existsSync(f));
  if (!(built && fs.existsSync(jar) && jarsThere)) {
    requireCommand(
      'java',
      'install a JDK 17 or newer (e.g. `apt-get install openjdk-17-jdk-headless`)',
    );
    requireCommand('mvn', 'install Apache Maven (e.g. `apt-get install maven`) and retry');
    fs.mkdirSync(cfg.runDir, { recursive: true });
    const buildLog = path.join(cfg.runDir, 'bench-kstreams-build.log');
    const args = [
      '-q',
      '-B',
      `-Dmaven.repo.local=${repo}`,
      `-Dbench.buildDir=${buildDir}`,
      `-Dkafka.version=${cfg.kafka.version}`,
      'package',
    ];
    log(`building the Kafka Streams ${cfg.kafka.version} bench with Maven (log: ${buildLog})`);
    try {
      // Offline once the jars are in the cache; online the first time (or for a new version).
      if (!fs.existsSync(repo)) throw new Error('no local repository yet');
      runCommand('mvn', ['-o', ...args], { cwd: project, log: buildLog });
    } catch {
      runCommand('mvn', args, { cwd: project, log: buildLog });
    }
    fs.writeFileSync(stamp, fingerprint);
  }
  return `${jar}:${fs.readFileSync(classpath, 'utf8').trim()}`;
}

/** The JVM's own choices on this machine with no flags: max heap and collector. */
export function jvmDefaults(): string {
  const r = spawnSync('java', [...JVM_FLAGS, '-XX:+PrintFlagsFinal', '-version'], {
    encoding: 'utf8',
  });
  const flag = (name: string) => new RegExp(`\\b${name}\\s+= (\\S+)`).exec(r.stdout)?.[1];
  const heap = Number(flag('MaxHeapSize') ?? 0) / 2 ** 20;
  const gc = ['G1', 'Parallel', 'Serial', 'Z', 'Shenandoah'].find(
    (g) => flag(`Use${g}GC`) === 'true',
  );
  const version = /version "([^"]+)"/.exec(r.stderr)?.[1] ?? 'unknown';
  return `Java ${version}, max heap ${Math.round(heap)} MiB, ${gc ?? 'unknown'} GC`;
}

/** A case running in its own JVM: its process, and its `done` line once it exits. */
export interface KStreamsRun {
  proc: ChildProcess;
  /** Resolves with the program's last stdout line (its `done` answer) when it exits with 0. */
  done: Promise<string>;
}

/** Starts one case (KafkaStreamsBench with `env`) in its own JVM; its stderr goes to `logFile`. */
export function startKStreams(
  classpath: string,
  env: Record<string, string>,
  logFile: string,
): KStreamsRun {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const stderrLog = fs.createWriteStream(logFile);
  const child = spawn(
    'java',
    [...JVM_FLAGS, '-cp', classpath, 'millrace.bench.KafkaStreamsBench'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const done = new Promise<string>((resolve, reject) => {
    let out = '';
    const errTail: string[] = [];
    child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr!.on('data', (b: Buffer) => {
      stderrLog.write(b);
      errTail.push(...b.toString('utf8').split('\n'));
      errTail.splice(0, Math.max(0, errTail.length - 40));
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      stderrLog.end();
      const last = out.trim().split('\n').filter(Boolean).pop();
      if (code === 0 && last) resolve(last);
      else
        reject(
          new Error(
            `${env.APP}: java exited with ${code}: ${last ?? '(no output)'}\n${errTail.join('\n')}`,
          ),
        );
    });
  });
  return { proc: child, done };
}
