/**
 * The topology test driver (like Kafka Streams' TopologyTestDriver): runs a built topology
 * in-process, no broker, with the same engine, stores and punctuation code as the Kafka
 * runtime — one task per sub-topology (partition 0). Pipe records into input topics,
 * advance the wall clock, read output and dead-letter topics, and look into stores.
 * Records written to a repartition topic are fed to the sub-topology reading it at once.
 *
 * ```ts
 * import { TopologyTestDriver } from 'millrace/testing';
 *
 * const driver = await TopologyTestDriver.create(topology);       // in-memory stores
 * const words = driver.input('words');                             // serdes of the source reading it
 * await words.pipe('hello', 'hello', { timestamp: 1_000 });
 * driver.output('counts').readAll();      // [{ key: 'hello', value: 1, timestamp: 1000, headers: {} }]
 * driver.keyValueStore('count-store').get('hello');                // 1
 * await driver.close();
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Headers } from '../../processors/api.js';
import type {
  KeyValueStore,
  Serde,
  SessionStore,
  StateStore,
  StoreKind,
  WindowStore,
} from '../../state/api.js';
import { BuiltTopology } from '../../topology/index.js';
import {
  createTaskEngine,
  serdeResolver,
  type CreateEngineOptions,
  type SerdeResolver,
} from '../task/create.js';
import type { StreamTaskEngine } from '../task/engine.js';
import type { FailureAction, OutputRecord } from '../task/types.js';
import { TopicNames } from './topics.js';

/** Options of `TopologyTestDriver.create`. */
export interface DriverOptions {
  /** Application id (names internal topics); default: the id given to `build()`, else `test-app`. */
  applicationId?: string;
  /** Store backend: `memory` (default) or `leveldb` in a temporary directory removed by `close()`. */
  backend?: 'memory' | 'leveldb';
  /** Wall clock at start (epoch ms). Default 0. */
  wallClockStart?: number;
  /** Default `<app>-dlq`. */
  deadLetterTopic?: string;
  /** Default `dead-letter`. */
  deserializationErrorHandler?: FailureAction;
  /** Default `dead-letter`. */
  processingErrorHandler?: FailureAction;
  /** Extra serdes by name (e.g. Avro ones). */
  serdes?: Record<string, Serde<unknown>>;
}

/** Serde names, as the builder writes them (`{ key, value }`) or as Kafka does (`{ keySerde, valueSerde }`). */
export type SerdeNames = { key: string; value: string } | { keySerde: string; valueSerde: string };

/** A record read from an output topic, deserialized. Header values as strings. */
export interface TestRecord<K = unknown, V = unknown> {
  key: K;
  value: V;
  timestamp: number;
  headers: Record<string, string>;
}

/** A dead letter: the original bytes and the headers saying why (`millrace.reason`, …). */
export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, string>;
}

/** Where `pipe()` puts a record. */
export interface PipeOptions {
  /** Record timestamp (epoch ms); default: the driver's wall clock. */
  timestamp?: number;
  headers?: Headers;
}

/** An input topic handle (`driver.input(topic)`). */
export interface TestInputTopic<K, V> {
  /** Serializes and processes one record (and everything it causes downstream). */
  pipe(key: K | null, value: V | null, opts?: PipeOptions): Promise<void>;
  /** Pipes several records in order. */
  pipeAll(records: Array<{ key: K | null; value: V | null } & PipeOptions>): Promise<void>;
}

/** An output topic handle (`driver.output(topic)`). */
export interface TestOutputTopic<K, V> {
  /** The records written since the last read, deserialized (and forgets them). */
  readAll(): Array<TestRecord<K, V>>;
  /** `readAll()` as `[key, value]` pairs. */
  readKeyValues(): Array<[K, V]>;
  isEmpty(): boolean;
}

const done = Promise.resolve();

export class TopologyTestDriver {
  private readonly written = new Map<string, OutputRecord[]>();
  private readonly offsets = new Map<string, number>();
  private readonly watched = new Set<string>();

  private constructor(
    readonly topology: BuiltTopology,
    readonly applicationId: string,
    private readonly all: Engines,
    private readonly serde: SerdeResolver,
    private readonly names: TopicNames,
    private readonly clock: { now: number },
    private readonly stateDir: string | undefined,
  ) {}

  /** Opens every sub-topology's task (stores in memory unless `backend: 'leveldb'`) and runs `init()`. */
  static async create(topology: BuiltTopology, o: DriverOptions = {}): Promise<TopologyTestDriver> {
    const applicationId = o.applicationId ?? topology.applicationId ?? 'test-app';
    const stateDir =
      o.backend === 'leveldb'
        ? fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-driver-'))
        : undefined;
    const clock = { now: o.wallClockStart ?? 0 };
    const dlq = o.deadLetterTopic ?? `${applicationId}-dlq`;
    const base: Omit<CreateEngineOptions, 'taskId'> = {
      applicationId,
      topology,
      serde: serdeResolver(o.serdes),
      stateDir: stateDir ?? os.tmpdir(),
      backend: o.backend ?? 'memory',
      deadLetterTopic: dlq,
      deserializationErrorHandler: o.deserializationErrorHandler ?? 'dead-letter',
      processingErrorHandler: o.processingErrorHandler ?? 'dead-letter',
      now: () => clock.now,
    };
    const engines = await openEngines(topology, base, stateDir);
    const names = new TopicNames(topology, applicationId, dlq);
    return new TopologyTestDriver(
      topology,
      applicationId,
      engines,
      base.serde,
      names,
      clock,
      stateDir,
    );
  }

  /** The driver's wall clock (epoch ms). */
  get wallClock(): number {
    return this.clock.now;
  }

  /**
   * A handle to pipe records into `topic`, serialized as a producer would. Serdes default
   * to those of the source reading `topic`.
   */
  input<K = unknown, V = unknown>(topic: string, serdes?: SerdeNames): TestInputTopic<K, V> {
    const { key, value } = this.serdesFor(topic, serdes, this.names.sourceSerdes(topic));
    const pipe = (k: K | null, v: V | null, opts: PipeOptions = {}) =>
      this.pipeRaw(
        topic,
        k === null ? null : key.serialize(k),
        v === null ? null : value.serialize(v),
        opts,
      );
    return {
      pipe,
      pipeAll: async (records) => {
        for (const r of records) await pipe(r.key, r.value, r);
      },
    };
  }

  private serdesFor(
    topic: string,
    given: SerdeNames | undefined,
    fallback: { key: string; value: string } | undefined,
  ): { key: Serde<unknown>; value: Serde<unknown> } {
    const names = given
      ? 'keySerde' in given
        ? { key: given.keySerde, value: given.valueSerde }
        : given
      : fallback;
    if (!names)
      throw new Error(
        `no node of this topology uses topic "${topic}"; pass its serdes: { key: 'string', value: 'json' }`,
      );
    return { key: this.serde(names.key), value: this.serde(names.value) };
  }

  /** Pipes raw bytes into `topic` (e.g. to test what happens to an undecodable record). */
  pipeRaw(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    opts: PipeOptions = {},
  ): Promise<void> {
    const engine = this.engineFor(topic);
    if (!engine)
      return Promise.reject(
        new Error(
          `no source of this topology reads "${topic}"; it reads ${this.names.inputTopics().join(', ')}`,
        ),
      );
    try {
      const r = this.feed(engine, {
        topic,
        key,
        value,
        timestamp: opts.timestamp ?? this.clock.now,
        headers: (opts.headers ?? {}) as Record<string, string | Buffer>,
      });
      return r ?? done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private get engines(): StreamTaskEngine[] {
    return this.all.tasks;
  }

  /** Every engine: the global stores' and the tasks'. */
  private get everyEngine(): StreamTaskEngine[] {
    return [...this.all.globals.values(), ...this.all.tasks];
  }

  private engineFor(topic: string): StreamTaskEngine | undefined {
    const global = this.all.globals.get(topic);
    if (global) return global;
    const sub = this.names.subtopologyReading(topic);
    return sub === undefined ? undefined : this.engines[sub];
  }

  private nextOffset(topic: string): number {
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    return offset;
  }

  /** Processes one record in `engine`, then routes what it produced (synchronously when possible). */
  private feed(engine: StreamTaskEngine, rec: OutputRecord): void | Promise<void> {
    const r = engine.process({
      topic: rec.topic,
      partition: 0,
      offset: this.nextOffset(rec.topic),
      key: rec.key,
      value: rec.value,
      timestamp: rec.timestamp,
      headers: rec.headers ?? {},
    });
    if (r) return r.then(() => this.route(engine.takeOutputs(), 0));
    return this.route(engine.takeOutputs(), 0);
  }

  /** Keeps output records for reading; feeds repartition records to the sub-topology reading them. */
  private route(records: OutputRecord[], from: number): void | Promise<void> {
    for (let i = from; i < records.length; i++) {
      const rec = records[i]!;
      const downstream = this.engineFor(rec.topic);
      // Repartition records are kept only when watched: nobody else reads them, and a long
      // test (or the benchmark) would hold every one of them.
      if (!downstream || !this.names.isInternal(rec.topic) || this.watched.has(rec.topic))
        this.keep(rec);
      if (!downstream) continue;
      const r = this.feed(downstream, rec);
      if (r) return r.then(() => this.route(records, i + 1));
    }
  }

  private keep(rec: OutputRecord): void {
    const list = this.written.get(rec.topic);
    if (list) list.push(rec);
    else this.written.set(rec.topic, [rec]);
  }

  /** Moves the wall clock forward by `ms` and fires the wall-clock punctuations that came due. */
  async advanceWallClock(ms: number): Promise<void> {
    this.clock.now += ms;
    for (const e of this.engines) {
      const r = e.punctuateWallClock(this.clock.now);
      if (r) await r;
      await this.route(e.takeOutputs(), 0);
    }
  }

  /**
   * A handle to read `topic` (an output, or a repartition topic — watched from now on).
   * Serdes default to those of the sink writing `topic`.
   */
  output<K = unknown, V = unknown>(topic: string, serdes?: SerdeNames): TestOutputTopic<K, V> {
    const { key, value } = this.serdesFor(topic, serdes, this.names.sinkSerdes(topic));
    this.watched.add(topic);
    const readAll = () => this.take(topic).map((r) => toTest<K, V>(r, key, value));
    return {
      readAll,
      readKeyValues: () => readAll().map((r) => [r.key, r.value]),
      isEmpty: () => (this.written.get(topic)?.length ?? 0) === 0,
    };
  }

  private take(topic: string): OutputRecord[] {
    const all = this.written.get(topic) ?? [];
    this.written.delete(topic);
    return all;
  }

  /** Dead letters since the last read: original bytes and the headers saying why. */
  deadLetters(): DeadLetter[] {
    return this.take(this.names.deadLetterTopic).map((r) => ({
      key: r.key,
      value: r.value,
      timestamp: r.timestamp,
      headers: headerStrings(r.headers),
    }));
  }

  /** The key-value store `name` (reads are synchronous; writes flush at `commit()`). */
  keyValueStore<K = unknown, V = unknown>(name: string): KeyValueStore<K, V> {
    return this.store(name, 'keyValue') as KeyValueStore<K, V>;
  }

  /** The window store `name`. */
  windowStore<K = unknown, V = unknown>(name: string): WindowStore<K, V> {
    return this.store(name, 'window') as WindowStore<K, V>;
  }

  /** The session store `name`. */
  sessionStore<K = unknown, V = unknown>(name: string): SessionStore<K, V> {
    return this.store(name, 'session') as SessionStore<K, V>;
  }

  private store(name: string, kind: StoreKind): unknown {
    for (const e of this.everyEngine) {
      const s = e.stores.find((x) => x.name === name);
      if (s && s.store.kind !== kind)
        throw new Error(`store "${name}" is a ${s.store.kind} store; use the matching accessor`);
      if (s) return s.store;
    }
    const known = this.everyEngine.flatMap((e) => e.stores.map((s) => s.name));
    throw new Error(`no store "${name}" in this topology; it has ${known.join(', ') || 'none'}`);
  }

  /** A processor's counter (`processor/name`, e.g. `late_records`), summed over tasks. */
  metric(processor: string, name: string): number {
    let n = 0;
    for (const e of this.engines) n += e.counters.get(`${processor}/${name}`) ?? 0;
    return n;
  }

  /** Stream time of sub-topology `id`'s task (epoch ms; -1 before its first record). */
  streamTime(id = 0): number {
    return this.engines[id]?.streamTime() ?? -1;
  }

  /** Flushes stores as a runtime commit does; returns how many changelog records each store wrote. */
  async commit(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const e of this.everyEngine) {
      const batch = await e.prepareCommit();
      await this.route(batch.records, 0);
      for (const c of batch.changelogs)
        out.set(c.store, (out.get(c.store) ?? 0) + c.records.length);
    }
    return out;
  }

  /** Closes processors and stores; removes the LevelDB directory. */
  async close(): Promise<void> {
    for (const e of this.everyEngine) await e.close();
    if (this.stateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** Opens the global stores' engines, then one task per sub-topology reading them; inits all. */
async function openEngines(
  topology: BuiltTopology,
  base: Omit<CreateEngineOptions, 'taskId'>,
  stateDir: string | undefined,
): Promise<Engines> {
  const engines: Engines = { tasks: [], globals: new Map() };
  const all: StreamTaskEngine[] = [];
  try {
    const globalStores = new Map<string, StateStore>();
    for (const g of topology.globals) {
      const engine = await createTaskEngine({
        ...base,
        taskId: 'global',
        subtopology: g.subtopology,
      });
      all.push(engine);
      engines.globals.set(BuiltTopology.topicName(base.applicationId, g.topic), engine);
      for (const s of engine.stores) globalStores.set(s.name, s.store);
    }
    for (const sub of topology.subtopologies) {
      const engine = await createTaskEngine({ ...base, taskId: `${sub.id}_0`, globalStores });
      all.push(engine);
      engines.tasks.push(engine);
    }
    for (const e of all) await e.init();
    return engines;
  } catch (err) {
    for (const e of all) await e.close();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/** The driver's engines: one task per sub-topology, and one per global store by its topic. */
interface Engines {
  tasks: StreamTaskEngine[];
  globals: Map<string, StreamTaskEngine>;
}

function headerStrings(h: OutputRecord['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k] = String(v);
  return out;
}

function toTest<K, V>(r: OutputRecord, ks: Serde<unknown>, vs: Serde<unknown>): TestRecord<K, V> {
  return {
    key: r.key === null ? null : ks.deserialize(r.key),
    value: r.value === null ? null : vs.deserialize(r.value),
    timestamp: r.timestamp,
    headers: headerStrings(r.headers),
  } as TestRecord<K, V>;
}
