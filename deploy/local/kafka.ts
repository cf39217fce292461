/**
 * Apache Kafka in KRaft mode from the official `org.apache.kafka:kafka_2.13` jars,
 * resolved by Maven into the cache folder. One node, or three (replication factor 3,
 * min ISR 2) for fault tests. Each node is broker and controller at once.
 *
 * `kafkaUp` is what `npm run infra:up` starts (recorded in `<runDir>/infra.json`).
 * `KafkaCluster` is the same cluster as an object a test or the soak drives itself: on
 * ports and in a folder of its own, with each node started, `kill -9`'d, stopped and
 * restarted by its pid, and stopped entirely by `stop()` (nothing matched by name).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { InfraConfig } from './config.js';
import { awaitCoordinators } from '../../connectors/kafka/coordinators.js';
import {
  InfraError,
  isAlive,
  portOpen,
  requireCommand,
  run,
  startDetached,
  stopPid,
  waitFor,
} from './proc.js';
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

/**
 * How often the local brokers check time retention (Kafka's default: 5 minutes): tests that
 * show a record outliving the check wait this long, and a little more.
 */
export const RETENTION_CHECK_INTERVAL_MS = 10_000;

/** One node of a cluster: broker and controller at once. */
export interface KafkaNode {
  /** `node.id`, 1-based. */
  id: number;
  port: number;
  controllerPort: number;
  /** Holds `server.properties`, `kafka.log` and `data/`. */
  dir: string;
}

/** Where a cluster lives: its ports (node i on `port + i − 1`) and folder. */
export interface ClusterLayout {
  host: string;
  /** Client port of node 1; node n listens on `port + n − 1`. */
  port: number;
  /** Controller port of node 1; node n on `controllerPort + n − 1`. */
  controllerPort: number;
  /** Parent of `node-<n>/` and the `cluster-id` file. */
  dir: string;
  brokers: 1 | 3;
  /** JVM heap of each node, e.g. `512m`. */
  heap: string;
}

export function clusterNodes(layout: ClusterLayout): KafkaNode[] {
  return Array.from({ length: layout.brokers }, (_, i) => ({
    id: i + 1,
    port: layout.port + i,
    controllerPort: layout.controllerPort + i,
    dir: path.join(layout.dir, `node-${i + 1}`),
  }));
}

function serverProperties(host: string, node: KafkaNode, nodes: KafkaNode[]): string {
  const n = nodes.length;
  const rf = n >= 3 ? 3 : 1;
  const isr = n >= 3 ? 2 : 1;
  const voters = nodes.map((v) => `${v.id}@${host}:${v.controllerPort}`).join(',');
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${host}:${node.port},CONTROLLER://${host}:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${node.port}`,
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
    // Time retention is checked every 10 s (a broker's default: 5 min), so that a record
    // stamped older than its topic keeps records (tests stamp theirs in 2023) is deleted
    // within a test, as it would be within minutes on any broker, not once in a while.
    `log.retention.check.interval.ms=${RETENTION_CHECK_INTERVAL_MS}`,
    // A compacted topic with time retention too (a window store's changelog) is deleted by
    // the log cleaner, which waits this long when it has nothing to do (default 15 s).
    'log.cleaner.backoff.ms=2000',
    '',
  ].join('\n');
}

function java(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function formatStorage(
  cfg: InfraConfig,
  libs: string,
  node: KafkaNode,
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

const STARTED = 'Kafka Server started';

/**
 * A Kafka cluster this process starts and controls node by node, by pid.
 *
 * @example
 *   const c = new KafkaCluster(loadConfig(), { host: '127.0.0.1', port: 9710,
 *     controllerPort: 19710, dir: '.run/test-cluster', brokers: 3, heap: '512m' });
 *   await c.start();            // every node up, coordinators loaded
 *   await c.kill(2);            // kill -9 node 2
 *   await c.startNode(2);       // same data, same ports
 *   await c.stop();             // every node this object started, by pid
 */
export class KafkaCluster {
  readonly nodes: KafkaNode[];
  private readonly pids = new Map<number, number>();
  /** Size of each node's log when it was last launched (its readiness line comes after). */
  private readonly launchedAt = new Map<number, number>();
  private libs = '';

  constructor(
    private readonly cfg: InfraConfig,
    readonly layout: ClusterLayout,
    /** Setup log (Maven, storage format). */
    private readonly setupLog = path.join(layout.dir, 'setup.log'),
  ) {
    this.nodes = clusterNodes(layout);
  }

  /** `host:port` of every node (all of them, up or not). */
  get bootstrap(): string[] {
    return this.nodes.map((n) => `${this.layout.host}:${n.port}`);
  }

  node(id: number): KafkaNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new InfraError(`no Kafka node ${id}; nodes are ${this.nodes.map((x) => x.id)}`);
    return n;
  }

  logFile(id: number): string {
    return path.join(this.node(id).dir, 'kafka.log');
  }

  /** The pid of node `id` if this object started it and it is alive. */
  pid(id: number): number | undefined {
    const pid = this.pids.get(id);
    return pid !== undefined && isAlive(pid) ? pid : undefined;
  }

  isUp(id: number): boolean {
    return this.pid(id) !== undefined;
  }

  /** Jars, cluster id, `server.properties` and formatted storage for every node (idempotent). */
  prepare(): void {
    fs.mkdirSync(this.layout.dir, { recursive: true });
    this.libs = ensureKafkaJars(this.cfg, this.setupLog);
    const clusterId = clusterIdFor(this.layout.dir, this.libs);
    for (const node of this.nodes) {
      fs.mkdirSync(node.dir, { recursive: true });
      fs.writeFileSync(
        path.join(node.dir, 'server.properties'),
        serverProperties(this.layout.host, node, this.nodes),
      );
      formatStorage(this.cfg, this.libs, node, clusterId, this.setupLog);
    }
  }

  /** Fails naming the variable to change if a port of the cluster is taken. */
  async checkPorts(portVar: string, controllerVar: string): Promise<void> {
    for (const node of this.nodes)
      for (const [p, v] of [
        [node.port, portVar],
        [node.controllerPort, controllerVar],
      ] as const)
        if (await portOpen(this.layout.host, p))
          throw new InfraError(`port ${p} is taken by another process; stop it or set ${v}`);
  }

  /** Launches node `id` (its JVM, on its existing data) without waiting. Returns the pid. */
  launch(id: number): number {
    if (this.isUp(id)) throw new InfraError(`Kafka node ${id} is already running`);
    if (!this.libs) this.prepare();
    const node = this.node(id);
    const args = [
      `-Xmx${this.layout.heap}`,
      `-Xms${this.layout.heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(kafkaHome(this.cfg), 'log4j2.properties')}`,
      '-cp',
      `${this.libs}/*`,
      'kafka.Kafka',
      path.join(node.dir, 'server.properties'),
    ];
    const logFile = this.logFile(id);
    fs.appendFileSync(logFile, `--- millrace: node ${id} launched ${new Date().toISOString()}\n`);
    this.launchedAt.set(id, fs.statSync(logFile).size);
    const pid = startDetached(java(), args, logFile);
    this.pids.set(id, pid);
    return pid;
  }

  /** Resolves once node `id`'s latest launch logged that it started and its port answers. */
  async awaitNode(id: number, timeoutMs = 120_000): Promise<void> {
    const node = this.node(id);
    const logFile = this.logFile(id);
    const from = this.launchedAt.get(id) ?? 0;
    await waitFor(
      `Kafka node ${id}`,
      async () =>
        readFrom(logFile, from).includes(STARTED) && (await portOpen(this.layout.host, node.port)),
      { pid: this.pids.get(id), logFile, timeoutMs },
    );
  }

  /** Starts node `id` (again) and waits until it serves. */
  async startNode(id: number, timeoutMs = 120_000): Promise<void> {
    this.launch(id);
    await this.awaitNode(id, timeoutMs);
  }

  /**
   * Starts every node that is not up, waits for all, then until the group and transaction
   * coordinators answer for every partition (a first group or transaction must not pay
   * for their load). On failure stops what it started.
   */
  async start(timeoutMs = 120_000): Promise<void> {
    this.prepare();
    const launched = this.nodes.filter((n) => !this.isUp(n.id)).map((n) => n.id);
    for (const id of launched) this.launch(id);
    try {
      await Promise.all(launched.map((id) => this.awaitNode(id, timeoutMs)));
      await awaitCoordinators(this.bootstrap, { timeoutMs });
    } catch (err) {
      await Promise.all(launched.map((id) => this.stopNode(id, 0)));
      throw err;
    }
  }

  /** `kill -9` node `id`; resolves once the process is gone. */
  async kill(id: number): Promise<void> {
    await this.stopNode(id, 0);
  }

  /**
   * Stops node `id`: SIGTERM (a controlled shutdown: it hands its leaderships over), then
   * SIGKILL after `graceMs`. `graceMs` 0 is `kill -9` at once.
   */
  async stopNode(id: number, graceMs = 30_000): Promise<void> {
    const pid = this.pids.get(id);
    if (pid === undefined) return;
    if (graceMs === 0) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await stopPid(pid, graceMs);
    this.pids.delete(id);
  }

  /** Stops every node this object started (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs = 15_000): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n.id, graceMs)));
  }
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
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
  const cluster = new KafkaCluster(
    cfg,
    {
      host: cfg.host,
      port: cfg.kafka.port,
      controllerPort: cfg.kafka.controllerPort,
      dir: path.join(cfg.runDir, brokers === 1 ? 'kafka' : 'kafka-cluster'),
      brokers,
      heap: cfg.kafka.heap,
    },
    log,
  );
  const name = (id: number) => (brokers === 1 ? 'kafka' : `kafka-${id}`);
  const nodes = cluster.nodes;
  if (nodes.every((n) => liveService(cfg.runDir, name(n.id)))) return [];
  if (
    nodes.every((n) => !liveService(cfg.runDir, name(n.id))) &&
    (await portOpen(cfg.host, nodes[0]!.port))
  ) {
    return []; // someone else's broker answers: use it, never stop it
  }
  const absent = nodes.filter((n) => !liveService(cfg.runDir, name(n.id)));
  for (const node of absent)
    for (const [p, v] of [
      [node.port, 'MILLRACE_KAFKA_PORT'],
      [node.controllerPort, 'MILLRACE_KAFKA_CONTROLLER_PORT'],
    ] as const)
      if (await portOpen(cfg.host, p))
        throw new InfraError(`port ${p} is taken by another process; stop it or set ${v}`);
  cluster.prepare();
  const startedEntries: ServiceEntry[] = absent.map((node) => {
    fs.writeFileSync(cluster.logFile(node.id), '');
    const pid = cluster.launch(node.id);
    const entry: ServiceEntry = {
      name: name(node.id),
      pid,
      port: node.port,
      logFile: cluster.logFile(node.id),
      startedAt: new Date().toISOString(),
    };
    recordService(cfg.runDir, entry);
    return entry;
  });
  await readyOrStop(cfg.runDir, startedEntries, async () => {
    for (const node of absent) await cluster.awaitNode(node.id, 120_000);
    // A new broker answers COORDINATOR_LOAD_IN_PROGRESS while it loads (or first creates)
    // its offsets and transaction logs: the first group or transaction must not pay for it.
    await awaitCoordinators(cluster.bootstrap, { timeoutMs: 120_000 });
  });
  return startedEntries;
}
