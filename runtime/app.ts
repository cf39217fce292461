/**
 * `StreamsApp`: one millrace instance. Start as many as you like with the same
 * `applicationId`: they form one consumer group and share the tasks.
 *
 * ```ts
 * const app = new StreamsApp(topology, { applicationId: 'counts', bootstrapServers: 'localhost:9092' });
 * await app.start();            // creates internal topics, joins the group, restores, runs
 * process.on('SIGTERM', () => app.close());
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { checkKafkaClient } from '../connectors/kafka/client-check.js';
import { createKafka } from '../connectors/kafka/client.js';
import { BuiltTopology } from '../topology/index.js';
import type { StateStore } from '../state/api.js';
import { runtimeTopology, type AdapterOptions } from './topology-adapter.js';
import {
  configFromEnv,
  resolveConfig,
  type StreamsConfig,
  type StreamsConfigInput,
} from './config.js';
import { ConfigError, StreamsError } from './errors.js';
import { withRetries } from './retry.js';
import { GroupMember } from './group-member.js';
import type { ThreadState } from './lifecycle.js';
import { claimInstanceDir, type InstanceClaim } from './instance-dir.js';
import type { TaskLayout } from './kafka-assignor.js';
import { committedLag, type PartitionLag } from './lag.js';
import { createLogger, type Logger } from './log.js';
import { RepartitionPurge } from './repartition-purge.js';
import { StreamThread, type TaskFactory, type ThreadObserver } from './stream-thread.js';
import type { CheckpointIO, StreamTask } from './stream-task.js';
import type { TaskEngine } from './task-port.js';
import {
  checkCanCreate,
  clusterDefaults,
  replicationFactorFor,
  replicationProblems,
  topicHealth,
} from './replication.js';
import {
  checkCopartitioned,
  checkPartitionCount,
  ensureInternalTopics,
  internalConfigDrift,
  partitionCounts,
  requireTopics,
  type InternalTopicSpec,
} from './topics.js';

/** What the runtime needs from a built topology (see `runtime/topology-adapter.ts`). */
export interface AppTopology {
  /** Sub-topologies with their source topics, internal names already prefixed with the app id. */
  subtopologies(
    applicationId: string,
  ): Array<{ id: number; sources: string[]; internalSources: string[] }>;
  /** Changelog and repartition topics, each tied to the sub-topology whose partition count it takes. */
  internalTopics(
    applicationId: string,
  ): Array<{ name: string; subtopology: number; config: Record<string, string> }>;
  /** Topics the app writes to that it does not create (outputs), for a start-up check. */
  outputTopics(applicationId: string): string[];
  createEngine(taskId: string, ctx: EngineContext): Promise<TaskEngine>;
  checkpoint(taskId: string, ctx: EngineContext): CheckpointIO;
  /**
   * Checks what can be checked before connecting (every serde the topology names resolves),
   * throwing a ConfigError that names the node or store, its field and the fix.
   */
  check?(): void;
  /** Reads the global tables into the instance's global stores, before any task (runtime/global-tables.ts). */
  startGlobals?(
    ctx: EngineContext,
    kafka: Kafka,
  ): Promise<{ close(): Promise<void>; stores?: ReadonlyMap<string, StateStore> } | undefined>;
}

export interface EngineContext {
  config: StreamsConfig;
  log: Logger;
}

/** What an app reports as it runs: its thread's events, and each task it creates. */
export interface AppObserver extends ThreadObserver {
  /**
   * A task was created on this instance, before it restores or processes: its stores and
   * the topics it is known to write to (changelogs, the dead-letter topic), so metrics can
   * start its series at 0.
   */
  onTaskCreated?(taskId: string, created: { stores: string[]; topics: string[] }): void;
}

export type AppState =
  'created' | 'starting' | 'running' | 'rebalancing' | 'stopping' | 'stopped' | 'failed';

export class StreamsApp {
  readonly config: Readonly<StreamsConfig>;
  readonly instanceId = randomUUID().slice(0, 8);
  readonly log: Logger;
  private kafka!: Kafka;
  private admin!: Admin;
  private purge: RepartitionPurge | undefined;
  private thread?: StreamThread;
  private layout?: TaskLayout;
  private stateValue: AppState = 'created';
  private failure?: unknown;
  private claim?: InstanceClaim;
  private readonly failureListeners: Array<(err: unknown) => void> = [];
  private member?: GroupMember;
  private advertised?: string;

  private readonly topology: AppTopology;
  private globals?: { close(): Promise<void>; stores?: ReadonlyMap<string, StateStore> };

  /** The global stores by name, once read (interactive queries serve them from every instance). */
  get globalStores(): ReadonlyMap<string, StateStore> | undefined {
    return this.globals?.stores;
  }
  /** The built topology and its extra serdes, when given one (interactive queries read its store specs). */
  readonly built?: { topology: BuiltTopology; serdes: AdapterOptions['serdes'] };

  /** `topology` is a built topology (from the builder or a YAML file) or a hand-made AppTopology. */
  constructor(
    topology: AppTopology | BuiltTopology,
    config: StreamsConfigInput,
    private readonly observer: AppObserver = {},
    adapter: AdapterOptions = {},
  ) {
    this.topology =
      topology instanceof BuiltTopology ? runtimeTopology(topology, adapter) : topology;
    if (topology instanceof BuiltTopology) this.built = { topology, serdes: adapter.serdes };
    this.config = resolveConfig(configFromEnv(), config);
    this.log = createLogger(this.config.logLevel, {
      app: this.config.applicationId,
      instance: this.instanceId,
    });
  }

  get state(): AppState {
    if (this.stateValue === 'running' && this.rebalancing) return 'rebalancing';
    return this.stateValue;
  }

  /** Joining the group, or between a rejoin and every assigned task running. */
  private get rebalancing(): boolean {
    const s = this.thread?.state;
    return s === 'starting' || s === 'partitions_revoked' || s === 'partitions_assigned';
  }

  get tasks(): ReadonlyMap<string, StreamTask> {
    return this.thread?.tasks ?? new Map<string, StreamTask>();
  }

  /** Called once if the instance fails (it is then stopped). */
  onFailure(listener: (err: unknown) => void): void {
    this.failureListeners.push(listener);
  }

  async start(): Promise<void> {
    if (this.config.numStreamThreads > 1)
      throw new ConfigError(
        `numStreamThreads is ${this.config.numStreamThreads}: a StreamsApp runs one stream thread; run more with \`millrace run --num-stream-threads ${this.config.numStreamThreads}\`, or from code with StreamThreads (runtime/threads.ts) and a module that builds the topology in each thread`,
      );
    checkKafkaClient(this.config.processingGuarantee);
    this.topology.check?.();
    this.stateValue = 'starting';
    const c = this.config;
    this.claim = claimInstanceDir(c.stateDir, c.applicationId);
    try {
      await this.startClaimed();
    } catch (err) {
      this.claim.release();
      throw err;
    }
  }

  private async startClaimed(): Promise<void> {
    const c = this.config;
    this.kafka = createKafka({
      brokers: c.bootstrapServers,
      clientId: `${c.clientId}-${this.instanceId}`,
    });
    this.admin = this.kafka.admin();
    try {
      await this.admin.connect();
    } catch (err) {
      throw new StreamsError(
        `cannot reach Kafka at ${c.bootstrapServers.join(',')}: ${(err as Error).message}; is the broker up?`,
        {
          code: 'KAFKA_UNREACHABLE',
          domain: 'external',
          retriable: true,
          cause: err,
        },
      );
    }
    try {
      // A broker that is down or still learning of topics another instance just created
      // answers retriably: the topic checks are done again, a few times, before giving up.
      this.layout = await withRetries('checking and creating topics', () => this.prepareTopics(), {
        forMs: 60_000,
        onRetry: (err, attempt) =>
          this.log.warn('checking and creating topics failed; retrying', { attempt, error: err }),
      });
      this.globals = await this.topology.startGlobals?.({ config: c, log: this.log }, this.kafka);
    } catch (err) {
      await this.admin.disconnect().catch(() => {});
      this.stateValue = 'failed';
      throw err;
    }
    const ctx: EngineContext = { config: c, log: this.log };
    this.member = this.groupMember(ctx);
    this.thread = new StreamThread(
      this.kafka,
      this.admin,
      c,
      this.layout,
      this.taskFactory(ctx),
      this.log,
      this.observer,
      `${c.applicationId}-${this.claim!.processId}`,
      this.member.hooks,
    );
    await this.thread.start((err) => void this.onFatal(err));
    this.purge = this.repartitionPurge();
    this.purge?.start();
    this.stateValue = 'running';
  }

  /** Purges the repartition partitions this instance's tasks read; none without repartition topics. */
  private repartitionPurge(): RepartitionPurge | undefined {
    const app = this.config.applicationId;
    const bySub = new Map(
      this.topology.subtopologies(app).map((s) => [s.id, s.internalSources] as const),
    );
    if (![...bySub.values()].some((t) => t.length)) return undefined;
    const targets = () =>
      [...this.tasks.values()].flatMap((t) =>
        (bySub.get(Number(t.id.split('_')[0])) ?? []).map((topic) => ({
          topic,
          partition: t.partition,
        })),
      );
    return new RepartitionPurge(
      this.admin,
      app,
      targets,
      this.config.repartitionPurgeInterval,
      this.log,
    );
  }

  /** Creates the thread's tasks' engines, telling the observer of each. */
  private taskFactory(ctx: EngineContext): TaskFactory {
    return {
      createEngine: async (id) => {
        const engine = await this.topology.createEngine(id, ctx);
        this.observer.onTaskCreated?.(id, {
          stores: engine.stores.map((s) => s.name),
          topics: [
            ...engine.stores.flatMap((s) => (s.changelogTopic ? [s.changelogTopic] : [])),
            ctx.config.deadLetterTopic,
          ],
        });
        return engine;
      },
      checkpoint: (id) => this.topology.checkpoint(id, ctx),
    };
  }

  /** Standby tasks and the group's task map (runtime/group-member.ts). */
  private groupMember(ctx: EngineContext): GroupMember {
    const built = this.built?.topology;
    const member = new GroupMember(
      this.kafka,
      this.admin,
      this.config,
      {
        createEngine: (id) => this.topology.createEngine(id, ctx),
        checkpoint: (id) => this.topology.checkpoint(id, ctx),
      },
      this.log,
      built
        ? (task) =>
            (built.subtopologies[Number(task.split('_')[0])]?.stores ?? []).some(
              (name) => built.store(name)?.logged,
            )
        : undefined,
    );
    if (this.advertised) member.advertise(this.advertised);
    return member;
  }

  /**
   * The `host:port` to advertise for interactive queries when `applicationServer` is not
   * set (`millrace run` gives its HTTP server's). Call before `start()`.
   */
  advertise(endpoint: string): void {
    this.advertised = endpoint;
    this.member?.advertise(endpoint);
  }

  /** Where this instance answers interactive queries: `applicationServer`, else what `advertise` set. */
  get queryEndpoint(): string | undefined {
    return this.config.applicationServer ?? this.advertised;
  }

  /** The stream thread's state (runtime/lifecycle.ts); undefined before start. */
  get threadState(): ThreadState | undefined {
    return this.thread?.state;
  }

  /** Standby tasks, the endpoint advertised and the group's task map; undefined before start. */
  get group(): GroupMember | undefined {
    return this.member;
  }

  /** Checks sources, co-partitioning and creates internal topics; returns the task layout. */
  private async prepareTopics(): Promise<TaskLayout> {
    const app = this.config.applicationId;
    const subs = this.topology.subtopologies(app);
    const external = [...new Set(subs.flatMap((s) => s.sources))];
    const outputs = this.topology.outputTopics(app);
    let counts = await partitionCounts(this.admin, [...external, ...outputs]);
    // A topic created a moment ago may not be known yet to the broker asked: once more.
    if ([...external, ...outputs].some((t) => !counts.has(t))) {
      await new Promise((r) => setTimeout(r, 1000));
      counts = await partitionCounts(this.admin, [...external, ...outputs]);
    }
    requireTopics('source', external, counts);
    requireTopics('output', outputs, counts);
    const partitionsBySub = new Map<number, number>();
    for (const s of subs)
      if (s.sources.length) partitionsBySub.set(s.id, checkCopartitioned(s.id, s.sources, counts));
    // A sub-topology fed only by repartition topics takes the widest upstream count.
    const widest = Math.max(1, ...partitionsBySub.values());
    for (const s of subs) if (!partitionsBySub.has(s.id)) partitionsBySub.set(s.id, widest);
    const internal: InternalTopicSpec[] = this.topology.internalTopics(app).map((t) => ({
      name: t.name,
      partitions: partitionsBySub.get(t.subtopology) ?? widest,
      config: t.config,
    }));
    internal.push({ name: this.config.deadLetterTopic, partitions: widest, config: {} });
    await this.createInternalTopics(internal);
    for (const t of internal) counts.set(t.name, t.partitions);
    return {
      sourcesBySubtopology: new Map(subs.map((s) => [s.id, [...s.sources, ...s.internalSources]])),
      partitionsBySubtopology: partitionsBySub,
      partitionCount: (topic) => counts.get(topic) ?? 0,
    };
  }

  /**
   * Creates the absent internal topics, with the broker's default replication factor unless
   * one is configured, then checks every internal topic as the cluster has it (one created
   * by someone else a moment ago included).
   */
  private async createInternalTopics(internal: InternalTopicSpec[]): Promise<void> {
    const cluster = await clusterDefaults(this.admin);
    const rf = replicationFactorFor(this.config.replicationFactor, cluster);
    const names = internal.map((t) => t.name);
    const existing = await partitionCounts(this.admin, names);
    checkCanCreate(
      rf,
      cluster,
      names.filter((t) => !existing.has(t)),
    );
    const created = await ensureInternalTopics(this.admin, internal, rf);
    if (created.length)
      this.log.info('created internal topics', { topics: created, replicationFactor: rf });
    await this.checkInternalTopics(internal, rf);
    await this.warnOfConfigDrift(internal.filter((t) => !created.includes(t.name)));
  }

  /**
   * Says which existing internal topics have other configs than millrace gives the topics
   * it creates (a repartition topic from an older version, kept by time, would lose a
   * replay's old records), with the command that sets them. It changes nothing.
   */
  private async warnOfConfigDrift(existing: InternalTopicSpec[]): Promise<void> {
    const drift = await internalConfigDrift(this.admin, existing).catch((err: unknown) => {
      this.log.debug('could not read the internal topics configs', { error: err });
      return [];
    });
    for (const d of drift)
      this.log.warn(
        `internal topic ${d.topic} has ${d.name}=${d.have ?? '(unset)'} where millrace creates it with ${d.want}; set it with: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${d.topic} --add-config ${d.name}=${d.want}`,
        { topic: d.topic, config: d.name, have: d.have, want: d.want },
      );
  }

  /**
   * Partition counts and replication of the internal topics: a wrong count, or a topic below
   * its `min.insync.replicas` (nothing could be written), stops the start naming the topic
   * and the fix; one below the replication factor asked for is logged.
   */
  private async checkInternalTopics(internal: InternalTopicSpec[], rf: number): Promise<void> {
    const health = await topicHealth(
      this.admin,
      internal.map((t) => t.name),
    );
    for (const h of health)
      checkPartitionCount(
        h.topic,
        h.partitions,
        internal.find((t) => t.name === h.topic)!.partitions,
      );
    const problems = replicationProblems(health, rf, this.config.applicationId);
    const fatal = problems.filter((p) => p.severity === 'fatal');
    if (fatal.length)
      throw new StreamsError(fatal.map((p) => p.message).join('\n'), {
        code: 'INTERNAL_TOPIC_UNDER_REPLICATED',
        domain: 'user',
      });
    for (const p of problems) this.log.warn(p.message, { topic: p.topic });
  }

  private async onFatal(err: unknown): Promise<void> {
    if (
      this.stateValue === 'stopping' ||
      this.stateValue === 'stopped' ||
      this.stateValue === 'failed'
    )
      return;
    this.failure = err;
    this.log.error('instance failed; stopping', { error: err });
    await this.close().catch(() => {});
    this.stateValue = 'failed';
    for (const l of this.failureListeners) l(err);
  }

  /** Graceful shutdown: commit, close stores, leave the group. */
  async close(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'stopping') return;
    this.stateValue = 'stopping';
    await this.purge?.stop();
    await this.thread?.stop();
    await this.globals?.close();
    await this.admin?.disconnect().catch(() => {});
    this.claim?.release();
    this.stateValue = 'stopped';
  }

  /** Why the instance is not ready (null when every assigned task is running). */
  notReadyReason(): string | null {
    if (this.stateValue !== 'running') return `instance is ${this.stateValue}`;
    if (!this.thread) return 'not started';
    if (this.thread.state === 'starting') return 'joining the group';
    if (this.rebalancing) return 'rebalancing';
    const restoring = [...this.thread.tasks.values()].filter((t) => t.state !== 'running');
    if (restoring.length)
      return `restoring ${restoring.map((t) => `${t.id} (${t.stats.restoreRemaining} records left)`).join(', ')}`;
    return null;
  }

  /**
   * Lag of every source partition of the tasks this instance owns: end of the log minus
   * the group's committed offset (asks the broker; call it at most about once a second).
   */
  async consumerLag(): Promise<PartitionLag[]> {
    const layout = this.layout;
    if (!layout || !this.admin || this.stateValue !== 'running') return [];
    const parts = [...this.tasks.values()].flatMap((t) => {
      const sub = Number(t.id.split('_')[0]);
      return (layout.sourcesBySubtopology.get(sub) ?? [])
        .filter((topic) => t.partition < layout.partitionCount(topic))
        .map((topic) => ({ topic, partition: t.partition }));
    });
    return committedLag(this.admin, this.config.applicationId, parts);
  }

  get lastFailure(): unknown {
    return this.failure;
  }

  get taskLayout(): TaskLayout | undefined {
    return this.layout;
  }
}
