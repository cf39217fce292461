/**
 * A three-node Kafka cluster (KRaft, RF 3, min ISR 2) of a test file's own, for the
 * tests that kill, stop and restart brokers. It lives beside the single broker the
 * layer's global setup starts, on ports that cannot collide with it:
 *
 *   MILLRACE_TEST_CLUSTER_PORT             client port of node 1 (default MILLRACE_KAFKA_PORT + 10;
 *                                          nodes 2 and 3 on the next two)
 *   MILLRACE_TEST_CLUSTER_CONTROLLER_PORT  controller port of node 1 (default MILLRACE_KAFKA_CONTROLLER_PORT + 10)
 *   MILLRACE_TEST_CLUSTER_DIR              its folder (default <runDir>/test-cluster; wiped at start)
 *   MILLRACE_TEST_CLUSTER_HEAP             heap of each node (default 512m)
 *
 * Nodes are killed (`kill -9`), stopped (SIGTERM: controlled shutdown) and restarted by
 * pid; `stop()` stops exactly the nodes it started. The lookups answer which node leads a
 * partition and which is the group or transaction coordinator of an id (FindCoordinator,
 * as a client asks). Clients are built over the nodes that are up, so no lookup of the
 * test itself waits on a dead bootstrap server.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../../connectors/kafka/client.js';
import { loadConfig } from '../../deploy/local/config.js';
import { KafkaCluster } from '../../deploy/local/kafka.js';
import { TopologyBuilder } from '../../topology/index.js';

/** Kafka's coordinator types (FindCoordinator's `key_type`). */
const GROUP = 0;
const TRANSACTION = 1;
/** ListOffsets isolation levels. */
const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

export interface TestClusterOptions {
  /** Client port of node 1 (default from MILLRACE_TEST_CLUSTER_PORT, else kafka port + 10). */
  port?: number;
  controllerPort?: number;
  dir?: string;
  heap?: string;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65533)
    throw new Error(`${name}=${v} is not a port; set a number between 1 and 65533 or unset it`);
  return n;
}

/** A partition as the cluster's metadata describes it. */
export interface PartitionState {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export class TestCluster {
  private started: KafkaCluster | undefined;

  private constructor() {}

  /** Starts a fresh cluster (its folder wiped) and waits until its coordinators answer. */
  static async start(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const c = TestCluster.unstarted();
    await c.begin(opts);
    return c;
  }

  /** A cluster for `begin()` to start later (see useTestCluster). */
  static unstarted(): TestCluster {
    return new TestCluster();
  }

  /** The nodes' processes; only once started. */
  get cluster(): KafkaCluster {
    if (!this.started) throw new Error('the test cluster is not started yet');
    return this.started;
  }

  /** Starts the cluster (see start()). */
  async begin(opts: TestClusterOptions = {}): Promise<void> {
    const cfg = loadConfig();
    const dir = path.resolve(
      opts.dir ?? process.env.MILLRACE_TEST_CLUSTER_DIR ?? path.join(cfg.runDir, 'test-cluster'),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const cluster = new KafkaCluster(cfg, {
      host: cfg.host,
      port: opts.port ?? envInt('MILLRACE_TEST_CLUSTER_PORT') ?? cfg.kafka.port + 10,
      controllerPort:
        opts.controllerPort ??
        envInt('MILLRACE_TEST_CLUSTER_CONTROLLER_PORT') ??
        cfg.kafka.controllerPort + 10,
      dir,
      brokers: 3,
      heap: opts.heap ?? process.env.MILLRACE_TEST_CLUSTER_HEAP ?? '512m',
    });
    await cluster.checkPorts('MILLRACE_TEST_CLUSTER_PORT', 'MILLRACE_TEST_CLUSTER_CONTROLLER_PORT');
    // Kept before it is up, so that stop() stops the nodes of a start that failed midway.
    this.started = cluster;
    await cluster.start(180_000);
  }

  /** Every node's `host:port` (what the apps under test are given). */
  get brokers(): string[] {
    return this.cluster.bootstrap;
  }

  get nodeIds(): number[] {
    return this.cluster.nodes.map((n) => n.id);
  }

  isUp(id: number): boolean {
    return this.cluster.isUp(id);
  }

  /** Nodes whose process is running. */
  upNodes(): number[] {
    return this.nodeIds.filter((id) => this.cluster.isUp(id));
  }

  /** A kafkajs client over the nodes that are up. */
  kafka(clientId = 'test-cluster'): Kafka {
    const up = this.upNodes();
    return createKafka({
      brokers: up.map((id) => `${this.cluster.layout.host}:${this.cluster.node(id).port}`),
      clientId,
    });
  }

  /** `kill -9` node `id`. */
  kill(id: number): Promise<void> {
    return this.cluster.kill(id);
  }

  /** SIGTERM node `id` (controlled shutdown) and wait for it to exit. */
  stopNode(id: number): Promise<void> {
    return this.cluster.stopNode(id, 60_000);
  }

  /** Starts node `id` again on its data; resolves once it serves. */
  startNode(id: number): Promise<void> {
    return this.cluster.startNode(id, 180_000);
  }

  /** Stops every node this cluster started, then deletes its data (logs are kept). */
  async stop(): Promise<void> {
    if (!this.started) return;
    await this.cluster.stop(10_000);
    for (const n of this.cluster.nodes)
      fs.rmSync(path.join(n.dir, 'data'), { recursive: true, force: true });
  }

  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka('test-cluster-admin').admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Metadata of `topics` (never of all topics: a leaderless partition elsewhere must not matter). */
  async partitions(topics: string[]): Promise<PartitionState[]> {
    return this.withAdmin(async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics });
      return meta.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
        })),
      );
    });
  }

  /** The node leading `topic`'s `partition`. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const p = (await this.partitions([topic])).find((x) => x.partition === partition);
    if (!p) throw new Error(`${topic} has no partition ${partition}`);
    return p.leader;
  }

  /** The node coordinating group `groupId` (FindCoordinator, key type GROUP). */
  groupCoordinator(groupId: string): Promise<number> {
    return this.findCoordinator(groupId, GROUP);
  }

  /** The node coordinating transactional id `transactionalId` (FindCoordinator, key type TRANSACTION). */
  transactionCoordinator(transactionalId: string): Promise<number> {
    return this.findCoordinator(transactionalId, TRANSACTION);
  }

  /**
   * FindCoordinator through kafkajs's own cluster client (kafkajs has it, but not on its
   * public admin), over the nodes that are up.
   */
  private async findCoordinator(key: string, type: number): Promise<number> {
    const cluster = kafkajsCluster(this.kafka('test-cluster-coordinator'));
    await cluster.connect();
    try {
      await cluster.refreshMetadata();
      const { coordinator } = await cluster.findGroupCoordinatorMetadata({
        groupId: key,
        coordinatorType: type,
      });
      return coordinator.nodeId;
    } finally {
      await cluster.disconnect().catch(() => {});
    }
  }

  /**
   * Partitions of `topics` where a transaction is still open: the last stable offset (what
   * a read_committed reader may reach) is below the high watermark. Kafka's EOS verifier
   * asks the same after the app is stopped ("every transaction finished").
   */
  async openTransactions(topics: string[]): Promise<string[]> {
    const [committed, uncommitted] = await Promise.all(
      [READ_COMMITTED, READ_UNCOMMITTED].map((level) => this.endOffsets(topics, level)),
    );
    return [...committed!]
      .filter(([tp, lso]) => lso < uncommitted!.get(tp)!)
      .map(([tp, lso]) => `${tp} (last stable ${lso}, high watermark ${uncommitted!.get(tp)})`);
  }

  /** End offsets of every partition of `topics` as seen at `isolationLevel`, by `topic:partition`. */
  private async endOffsets(topics: string[], isolationLevel: number): Promise<Map<string, number>> {
    const parts = await this.partitions(topics);
    const cluster = kafkajsCluster(this.kafka('test-cluster-offsets'), { isolationLevel });
    await cluster.connect();
    try {
      await cluster.addMultipleTargetTopics(topics);
      const res = await cluster.fetchTopicsOffset(
        topics.map((topic) => ({
          topic,
          fromBeginning: false,
          partitions: parts
            .filter((p) => p.topic === topic)
            .map((p) => ({ partition: p.partition })),
        })),
      );
      return new Map(
        res.flatMap((t) =>
          t.partitions.map((p) => [`${t.topic}:${p.partition}`, Number(p.offset)]),
        ),
      );
    } finally {
      await cluster.disconnect().catch(() => {});
    }
  }

  /**
   * Resolves once every node is up and registered, and every partition of every topic
   * (the internal `__consumer_offsets` and `__transaction_state` included) has a leader
   * and its whole replica set in sync: the state a test leaves the shared cluster in.
   */
  async awaitHealthy(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      try {
        last = await this.unhealthy();
        if (!last) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline)
        throw new Error(`cluster not healthy after ${timeoutMs / 1000}s: ${last}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** What keeps the cluster from being healthy ('' when nothing does). */
  private async unhealthy(): Promise<string> {
    const down = this.nodeIds.filter((id) => !this.cluster.isUp(id));
    if (down.length) return `node(s) ${down.join(',')} not running`;
    return this.withAdmin(async (admin) => {
      const { brokers } = await admin.describeCluster();
      if (brokers.length < this.nodeIds.length)
        return `${brokers.length} of ${this.nodeIds.length} brokers registered`;
      const meta = await admin.fetchTopicMetadata({ topics: [] });
      const bad = meta.topics.flatMap((t) =>
        t.partitions
          .filter((p) => p.leader < 0 || p.isr.length < p.replicas.length)
          .map((p) => `${t.name}-${p.partitionId} leader ${p.leader} isr [${p.isr}]`),
      );
      return bad.length ? `${bad.length} partition(s) not in sync, e.g. ${bad[0]}` : '';
    });
  }
}

/** The subset of kafkajs's internal Cluster the lookups use. */
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  fetchTopicsOffset(
    topics: Array<{
      topic: string;
      fromBeginning: boolean;
      partitions: Array<{ partition: number }>;
    }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
  findGroupCoordinatorMetadata(o: {
    groupId: string;
    coordinatorType: number;
  }): Promise<{ coordinator: { nodeId: number; host: string; port: number } }>;
}

function kafkajsCluster(kafka: Kafka, opts: { isolationLevel?: number } = {}): KafkajsCluster {
  const sym = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  if (!sym) throw new Error('kafkajs changed: no private createCluster on the client');
  const create = (kafka as unknown as Record<symbol, (o: object) => KafkajsCluster>)[sym]!;
  return create(opts);
}

/** Counts by key from `input` to `<input>-counts` (LevelDB store `count`, JSON counts). */
export function countByKeyTopology(input: string) {
  const b = new TopologyBuilder();
  b.stream(input, { key: 'string', value: 'string' })
    .groupByKey({ keySerde: 'string', valueSerde: 'string' })
    .count({ name: 'count' })
    .to(`${input}-counts`, { key: 'string', value: 'json' });
  return b.build();
}
