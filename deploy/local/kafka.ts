/**
 * Apache Kafka in KRaft mode from the official `org.apache.kafka:kafka_2.13` jars,
 * resolved by Maven into the cache folder. One node, or three (replication factor 3,
 * min ISR 2) for fault tests. Each node is broker and controller at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { InfraConfig } from './config.js';
import { awaitCoordinators } from '../../connectors/kafka/coordinators.js';
import { InfraError, portOpen, requireCommand, run, startDetached, waitFor } from './proc.js';
import { liveService, readyOrStop, recordService, type ServiceEntry } from './state.js';

const LOG4J_VERSION = '2.25.5';

function kafkaHome(cfg: InfraConfig): string {
  return path.join(cfg.cacheDir, `kafka-${cfg.kafka.version}`);
}

function pom(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>millrace.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>
${dep('org.apache.kafka', 'kafka_2.13', version)}
${dep('org.apache.kafka', 'kafka-tools', version)}
${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
</dependencies></project>\n`;
}

/** Resolves the broker's jars with Maven (once; later calls reuse the cache). */
export function ensureKafkaJars(cfg: InfraConfig, log: string): string {
  const home = kafkaHome(cfg);
  const libs = path.join(home, 'libs');
  if (fs.existsSync(path.join(home, '.complete'))) return libs;
  requireCommand(
    'java',
    'install a JDK 17 or newer (e.g. `apt-get install openjdk-17-jdk-headless`) and retry',
  );
  requireCommand('mvn', 'install Apache Maven (e.g. `apt-get install maven`) and retry');
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'pom.xml'), pom(cfg.kafka.version));
  run(
    'mvn',
    [
      '-q',
      '-B',
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
      '-DincludeScope=runtime',
    ],
    { cwd: home, log },
  );
  fs.writeFileSync(path.join(home, 'log4j2.properties'), LOG4J_CONFIG);
  fs.writeFileSync(path.join(home, '.complete'), new Date().toISOString());
  return libs;
}

const LOG4J_CONFIG = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
`;

interface NodePlan {
  id: number;
  port: number;
  controllerPort: number;
  dir: string;
}

function plan(cfg: InfraConfig, brokers: number): NodePlan[] {
  const base = path.join(cfg.runDir, brokers === 1 ? 'kafka' : 'kafka-cluster');
  return Array.from({ length: brokers }, (_, i) => ({
    id: i + 1,
    port: cfg.kafka.port + i,
    controllerPort: cfg.kafka.controllerPort + i,
    dir: path.join(base, `node-${i + 1}`),
  }));
}

function serverProperties(cfg: InfraConfig, node: NodePlan, nodes: NodePlan[]): string {
  const n = nodes.length;
  const rf = n >= 3 ? 3 : 1;
  const isr = n >= 3 ? 2 : 1;
  const voters = nodes.map((v) => `${v.id}@${cfg.host}:${v.controllerPort}`).join(',');
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${cfg.host}:${node.port},CONTROLLER://${cfg.host}:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${cfg.host}:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(node.dir, 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${isr}`,
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${isr}`,
    'transaction.state.log.num.partitions=10',
    // Tests join groups often: no initial delay, and short session timeouts allowed.
    'group.initial.rebalance.delay.ms=0',
    'group.min.session.timeout.ms=1000',
    // Topics are created explicitly (by the runtime and the tests), with the right partition counts.
    'auto.create.topics.enable=false',
    'log.segment.bytes=67108864',
    '',
  ].join('\n');
}

function java(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function formatStorage(
  cfg: InfraConfig,
  libs: string,
  node: NodePlan,
  clusterId: string,
  log: string,
): void {
  if (fs.existsSync(path.join(node.dir, 'data', 'meta.properties'))) return;
  const props = path.join(node.dir, 'server.properties');
  run(
    java(),
    [
      '-cp',
      `${libs}/*`,
      `-Dlog4j2.configurationFile=${path.join(kafkaHome(cfg), 'log4j2.properties')}`,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
    ],
    { log },
  );
}

function clusterIdFor(base: string, libs: string): string {
  const f = path.join(base, 'cluster-id');
  if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8').trim();
  const id = run(java(), ['-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'random-uuid'])
    .trim()
    .split('\n')
    .pop()!
    .trim();
  fs.mkdirSync(base, { recursive: true });
  fs.writeFileSync(f, id);
  return id;
}

function startNode(cfg: InfraConfig, libs: string, node: NodePlan, brokers: number): ServiceEntry {
  const logFile = path.join(node.dir, 'kafka.log');
  const args = [
    `-Xmx${cfg.kafka.heap}`,
    `-Xms${cfg.kafka.heap}`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(kafkaHome(cfg), 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
    'kafka.Kafka',
    path.join(node.dir, 'server.properties'),
  ];
  fs.writeFileSync(logFile, '');
  const pid = startDetached(java(), args, logFile);
  const name = brokers === 1 ? 'kafka' : `kafka-${node.id}`;
  return { name, pid, port: node.port, logFile, startedAt: new Date().toISOString() };
}

function started(logFile: string): boolean {
  return fs.readFileSync(logFile, 'utf8').includes('Kafka Server started');
}

/**
 * Brings up `brokers` Kafka nodes, reusing any that are already running (ours, by pid
 * file; or anybody's already answering on the port). Returns the entries it started.
 */
export async function kafkaUp(
  cfg: InfraConfig,
  brokers: 1 | 3,
  log: string,
): Promise<ServiceEntry[]> {
  const nodes = plan(cfg, brokers);
  const names = nodes.map((n) => (brokers === 1 ? 'kafka' : `kafka-${n.id}`));
  if (names.every((n) => liveService(cfg.runDir, n))) return [];
  if (
    nodes.every((n) => !liveService(cfg.runDir, names[n.id - 1]!)) &&
    (await portOpen(cfg.host, nodes[0]!.port))
  ) {
    return []; // someone else's broker answers: use it, never stop it
  }
  const libs = ensureKafkaJars(cfg, log);
  const base = path.dirname(nodes[0]!.dir);
  const clusterId = clusterIdFor(base, libs);
  const startedEntries: ServiceEntry[] = [];
  for (const node of nodes) {
    if (liveService(cfg.runDir, names[node.id - 1]!)) continue;
    for (const [p, v] of [
      [node.port, 'MILLRACE_KAFKA_PORT'],
      [node.controllerPort, 'MILLRACE_KAFKA_CONTROLLER_PORT'],
    ] as const) {
      if (await portOpen(cfg.host, p))
        throw new InfraError(`port ${p} is taken by another process; stop it or set ${v}`);
    }
    fs.mkdirSync(node.dir, { recursive: true });
    fs.writeFileSync(path.join(node.dir, 'server.properties'), serverProperties(cfg, node, nodes));
    formatStorage(cfg, libs, node, clusterId, log);
    const entry = startNode(cfg, libs, node, brokers);
    recordService(cfg.runDir, entry);
    startedEntries.push(entry);
  }
  await readyOrStop(cfg.runDir, startedEntries, async () => {
    for (const e of startedEntries) {
      await waitFor(
        `Kafka node ${e.name}`,
        async () => started(e.logFile) && (await portOpen(cfg.host, e.port)),
        {
          pid: e.pid,
          logFile: e.logFile,
          timeoutMs: 120_000,
        },
      );
    }
    // A new broker answers COORDINATOR_LOAD_IN_PROGRESS while it loads (or first creates)
    // its offsets and transaction logs: the first group or transaction must not pay for it.
    await awaitCoordinators(
      nodes.map((n) => `${cfg.host}:${n.port}`),
      { timeoutMs: 120_000 },
    );
  });
  return startedEntries;
}
