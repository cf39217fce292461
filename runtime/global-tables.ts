/**
 * Global tables on the Kafka runtime: every instance reads every partition of each global
 * table's topic into a store of its own, before its stream thread starts (so the first
 * record of any task joins against the whole table), and keeps reading while it runs.
 *
 * - No changelog: the topic itself is the table's log. The store and a checkpoint of the
 *   positions read (`<stateDir>/<app>/global/.checkpoint`, written after each flush) let a
 *   restart read on from there; without them (state directory removed) it reads the topic
 *   from the beginning.
 * - Not in the application's consumer group, and nothing committed: kafkajs has no
 *   group-less `assign()`, so the reader is a consumer alone in a throw-away group of its
 *   own (`<app>-global-<uuid>`, deleted on close), which is therefore given every partition.
 * - Each record goes through the global table's node in a task engine of its own (the same
 *   deserialization and table code as a task; a null value deletes the key). Records that
 *   cannot be read are skipped and counted in the log (under `fail`, the instance stops).
 */
import { randomUUID } from 'node:crypto';
import type { Batch, Consumer, Kafka } from 'kafkajs';
import {
  readCheckpoint,
  taskDir,
  wipeTaskState,
  writeCheckpoint,
  type StateStore,
} from '../state/index.js';
import type { BuiltTopology, GlobalStore } from '../topology/index.js';
import type { StreamsConfig } from './config.js';
import { StreamsError } from './errors.js';
import type { Logger } from './log.js';
import { createTaskEngine, type SerdeResolver } from './task/create.js';
import type { StreamTaskEngine } from './task/engine.js';

export interface GlobalTablesOptions {
  config: StreamsConfig;
  log: Logger;
  kafka: Kafka;
  serde: SerdeResolver;
}

/** The task id of the global stores' directory: `<stateDir>/<app>/global/<store>`. */
const GLOBAL_DIR = 'global';
const pkey = (topic: string, partition: number) => `${topic}:${partition}`;

/** One global store: its engine, and how far its topic's partitions were read. */
interface Table {
  spec: GlobalStore;
  topic: string;
  engine: StreamTaskEngine;
  /** Next offset to read per partition (`topic:partition`). */
  next: Map<string, number>;
  /** The end of each partition when the reader started: reached, the table is bootstrapped. */
  end: Map<string, number>;
}

export class GlobalTables {
  private consumer?: Consumer;
  private groupId = '';
  private chain: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private skipped = 0;

  private constructor(
    private readonly tables: Table[],
    private readonly o: GlobalTablesOptions,
  ) {}

  /** The global stores by name, for the tasks' engines. */
  get stores(): ReadonlyMap<string, StateStore> {
    const out = new Map<string, StateStore>();
    for (const t of this.tables) for (const s of t.engine.stores) out.set(s.name, s.store);
    return out;
  }

  /**
   * Opens the global stores, reads their topics to the end they had now, and keeps reading.
   * Resolves once every table is bootstrapped; undefined when the topology has none.
   */
  static async start(
    built: BuiltTopology,
    o: GlobalTablesOptions,
  ): Promise<GlobalTables | undefined> {
    if (!built.globals.length) return undefined;
    const dir = taskDir(o.config.stateDir, o.config.applicationId, GLOBAL_DIR);
    const checkpoint = await readCheckpoint(dir);
    if (!checkpoint) await wipeTaskState(dir); // no clean record of what the stores hold
    const tables: Table[] = [];
    try {
      for (const spec of built.globals) tables.push(await openTable(built, spec, o, checkpoint));
      const g = new GlobalTables(tables, o);
      await g.run();
      return g;
    } catch (err) {
      for (const t of tables) await t.engine.close().catch(() => {});
      throw err;
    }
  }

  private async run(): Promise<void> {
    const { kafka, config, log } = this.o;
    this.groupId = `${config.applicationId}-global-${randomUUID()}`;
    const consumer = kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    const bootstrapped = this.bootstrapped(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: this.tables.map((t) => t.topic), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) =>
        this.locked(() => this.apply(batch.topic, batch.partition, batch.messages)),
    });
    await bootstrapped;
    await this.locked(() => this.flush());
    log.info('global tables ready', { stores: this.tables.map((t) => t.spec.store) });
    this.timer = setInterval(
      () => void this.locked(() => this.flush()).catch((e) => this.failed(e)),
      config.commitInterval,
    );
  }

  /**
   * Resolves when every partition of every table reached its end at start. A batch's last
   * offset moves the position past transaction markers too (a batch that held records:
   * an empty fetch reports a last offset that read_committed may not have reached).
   */
  private bootstrapped(consumer: Consumer): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const done = (t: Table) => [...t.end].every(([k, end]) => (t.next.get(k) ?? 0) >= end);
        if (this.tables.every(done)) resolve();
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.firstOffset === null) return;
        const last = Number(payload.lastOffset) + 1;
        void this.locked(() => {
          const t = this.tables.find((x) => x.topic === payload.topic);
          const k = pkey(payload.topic, payload.partition);
          if (t && last > (t.next.get(k) ?? 0)) t.next.set(k, last);
          check();
        });
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      check();
    });
  }

  private locked<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Feeds a batch to its table's engine, skipping what the stores hold already. */
  private async apply(
    topic: string,
    partition: number,
    messages: Batch['messages'],
  ): Promise<void> {
    const t = this.tables.find((x) => x.topic === topic);
    if (!t) return;
    const k = pkey(topic, partition);
    for (const m of messages) {
      const offset = Number(m.offset);
      if (offset < (t.next.get(k) ?? 0)) continue;
      const p = t.engine.process({
        topic,
        partition,
        offset,
        key: m.key,
        value: m.value,
        timestamp: Number(m.timestamp),
        headers: (m.headers ?? {}) as Record<string, Buffer | string | undefined>,
      });
      if (p) await p;
      t.next.set(k, offset + 1);
    }
  }

  /** Flushes the stores, then records the positions they reflect. */
  private async flush(): Promise<void> {
    const offsets = new Map<string, number>();
    for (const t of this.tables) {
      for (const [k, next] of t.next) offsets.set(`${t.spec.store}@${k}`, next);
      const batch = await t.engine.prepareCommit(); // flushes the store (nothing is logged)
      this.skipped += batch.records.length; // dead letters of unreadable records: counted, not sent
    }
    if (this.skipped) {
      this.o.log.warn('global table records skipped (could not be read)', { count: this.skipped });
      this.skipped = 0;
    }
    const { stateDir, applicationId } = this.o.config;
    await writeCheckpoint(taskDir(stateDir, applicationId, GLOBAL_DIR), offsets);
  }

  private failed(err: unknown): void {
    this.o.log.error('global tables: flush failed', { error: err });
  }

  /** Stops reading, flushes and checkpoints, closes the stores, deletes the reader's group. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.disconnect().catch(() => {});
    await this.locked(() => this.flush()).catch((e) => this.failed(e));
    for (const t of this.tables) await t.engine.close();
    const admin = this.o.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch {
      /* the group expires by itself */
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

/** Opens one global store's engine and learns where to read from and to. */
async function openTable(
  built: BuiltTopology,
  spec: GlobalStore,
  o: GlobalTablesOptions,
  checkpoint: Map<string, number> | undefined,
): Promise<Table> {
  const { config } = o;
  const topic = spec.topic;
  const partitions = await topicOffsets(o.kafka, topic, spec.store);
  const engine = await createTaskEngine({
    applicationId: config.applicationId,
    taskId: GLOBAL_DIR,
    subtopology: spec.subtopology,
    topology: built,
    serde: o.serde,
    stateDir: config.stateDir,
    backend: config.storeBackend,
    deadLetterTopic: config.deadLetterTopic,
    deserializationErrorHandler:
      config.deserializationErrorHandler === 'fail' ? 'fail' : 'dead-letter',
    processingErrorHandler: config.processingErrorHandler === 'fail' ? 'fail' : 'dead-letter',
  });
  await engine.init();
  const next = new Map<string, number>();
  const end = new Map<string, number>();
  for (const p of partitions) {
    const k = pkey(topic, p.partition);
    next.set(k, Math.max(p.low, checkpoint?.get(`${spec.store}@${k}`) ?? 0));
    end.set(k, p.high);
  }
  return { spec, topic, engine, next, end };
}

async function topicOffsets(
  kafka: Kafka,
  topic: string,
  store: string,
): Promise<Array<{ partition: number; low: number; high: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((p) => ({
      partition: p.partition,
      low: Number(p.low),
      high: Number(p.high),
    }));
  } catch (err) {
    throw new StreamsError(
      `global table store "${store}" reads topic "${topic}", which cannot be read (${(err as Error).message}); create the topic first`,
      { code: 'GLOBAL_TOPIC_MISSING', domain: 'user', cause: err },
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
