/**
 * The topology test driver (like Kafka Streams' TopologyTestDriver): runs a built topology
 * in-process, no broker, with the same engine, stores and punctuation code as the real
 * runtime. Pipe records into input topics, advance the wall clock, read output and
 * dead-letter topics, and look into stores.
 *
 * ```ts
 * const driver = await TopologyTestDriver.create(topology);
 * const words = driver.input('words', { key: 'string', value: 'string' });
 * await words.pipe('a', 'hello', { timestamp: 1000 });
 * driver.output('counts', { key: 'string', value: 'int64' }).readAll(); // [{ key: 'hello', value: 1, … }]
 * await driver.close();
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Headers } from '../../processors/api.js';
import type { KeyValueStore, Serde, WindowStore } from '../../state/api.js';
import { BuiltTopology, type BuiltTopology as Built } from '../../topology/index.js';
import type { OutgoingRecord } from '../producers.js';
import { createTaskEngine, serdeResolver, type SerdeResolver } from '../task/create.js';
import type { StreamTaskEngine, FailureAction } from '../task/engine.js';

export interface DriverOptions {
  applicationId?: string;
  /** Store backend: `memory` (default) or `leveldb` in a temporary directory. */
  backend?: 'memory' | 'leveldb';
  /** Wall clock at start (epoch ms). Default 0. */
  wallClockStart?: number;
  deadLetterTopic?: string;
  deserializationErrorHandler?: FailureAction;
  processingErrorHandler?: FailureAction;
  /** Extra serdes by name (e.g. Avro ones). */
  serdes?: Record<string, Serde<any>>;
}

export interface TestRecord<K = any, V = any> {
  key: K;
  value: V;
  timestamp: number;
  headers: Record<string, string>;
}

export class TopologyTestDriver {
  private wallClock: number;
  private readonly topics = new Map<string, OutgoingRecord[]>();
  private readonly offsets = new Map<string, number>();
  private readonly readPositions = new Map<string, number>();

  private constructor(
    readonly topology: Built,
    readonly applicationId: string,
    private readonly engines: StreamTaskEngine[],
    private readonly serde: SerdeResolver,
    private readonly dlqTopic: string,
    private readonly stateDir: string | undefined,
    wallClockStart: number,
    private readonly clock: { now: number },
  ) {
    this.wallClock = wallClockStart;
  }

  static async create(topology: Built, o: DriverOptions = {}): Promise<TopologyTestDriver> {
    const applicationId = o.applicationId ?? 'test-app';
    const serde = serdeResolver(o.serdes);
    const stateDir =
      o.backend === 'leveldb'
        ? fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-driver-'))
        : undefined;
    const clock = { now: o.wallClockStart ?? 0 };
    const dlq = o.deadLetterTopic ?? `${applicationId}-dlq`;
    const engines: StreamTaskEngine[] = [];
    for (const sub of topology.subtopologies) {
      const engine = await createTaskEngine({
        applicationId,
        taskId: `${sub.id}_0`,
        topology,
        serde,
        stateDir: stateDir ?? os.tmpdir(),
        backend: o.backend ?? 'memory',
        deadLetterTopic: dlq,
        deserializationErrorHandler: o.deserializationErrorHandler ?? 'dead-letter',
        processingErrorHandler: o.processingErrorHandler ?? 'dead-letter',
        now: () => clock.now,
      });
      await engine.init();
      engines.push(engine);
    }
    return new TopologyTestDriver(
      topology,
      applicationId,
      engines,
      serde,
      dlq,
      stateDir,
      clock.now,
      clock,
    );
  }

  private readonly engineByTopic = new Map<string, StreamTaskEngine | undefined>();

  private engineFor(topic: string): StreamTaskEngine | undefined {
    if (this.engineByTopic.has(topic)) return this.engineByTopic.get(topic);
    const e = this.findEngine(topic);
    this.engineByTopic.set(topic, e);
    return e;
  }

  private findEngine(topic: string): StreamTaskEngine | undefined {
    for (const sub of this.topology.subtopologies) {
      for (const src of sub.sources) {
        if (
          src.topics.some(
            (t) => BuiltTopology.topicName(this.applicationId, t, src.internal) === topic,
          )
        )
          return this.engines[sub.id];
      }
    }
    return undefined;
  }

  /** A handle to pipe records into `topic` (serialized with the named serdes, as a producer would). */
  input<K = any, V = any>(topic: string, serdes: { key: string; value: string }) {
    const ks = this.serde(serdes.key);
    const vs = this.serde(serdes.value);
    return {
      pipe: (
        key: K | null,
        value: V | null,
        opts: { timestamp?: number; headers?: Headers } = {},
      ) =>
        this.pipeRaw(
          topic,
          key === null ? null : ks.serialize(key),
          value === null ? null : vs.serialize(value),
          opts,
        ),
    };
  }

  /** Pipes raw bytes (e.g. to test what happens to an undecodable record). */
  pipeRaw(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    opts: { timestamp?: number; headers?: Headers } = {},
  ): Promise<void> {
    const engine = this.engineFor(topic);
    if (!engine) return Promise.reject(new Error(`no source of this topology reads "${topic}"`));
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    try {
      const r = engine.process({
        topic,
        partition: 0,
        offset,
        key,
        value,
        timestamp: opts.timestamp ?? this.wallClock,
        headers: (opts.headers ?? {}) as Record<string, Buffer | string>,
      });
      if (r) return r.then(() => this.route(engine));
      return this.route(engine);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private static readonly done = Promise.resolve();

  /** Collects an engine's outputs; records for repartition topics are processed downstream at once. */
  private route(engine: StreamTaskEngine): Promise<void> {
    const outputs = engine.takeOutputs();
    let needsAsync = false;
    for (const rec of outputs) {
      (this.topics.get(rec.topic) ?? this.topics.set(rec.topic, []).get(rec.topic)!).push(rec);
      if (this.engineFor(rec.topic)) needsAsync = true;
    }
    return needsAsync ? this.routeDownstream(outputs) : TopologyTestDriver.done;
  }

  private async routeDownstream(outputs: OutgoingRecord[]): Promise<void> {
    for (const rec of outputs) {
      const downstream = this.engineFor(rec.topic);
      if (downstream) {
        const offset = this.offsets.get(rec.topic) ?? 0;
        this.offsets.set(rec.topic, offset + 1);
        const r = downstream.process({
          topic: rec.topic,
          partition: 0,
          offset,
          key: rec.key,
          value: rec.value,
          timestamp: rec.timestamp,
          headers: rec.headers ?? {},
        });
        if (r) await r;
        await this.route(downstream);
      }
    }
  }

  /** Moves the wall clock forward and fires the wall-clock punctuations that came due. */
  async advanceWallClock(ms: number): Promise<void> {
    this.wallClock += ms;
    this.clock.now = this.wallClock;
    for (const e of this.engines) {
      const r = e.punctuateWallClock(this.wallClock);
      if (r) await r;
      await this.route(e);
    }
  }

  /** Reads `topic` with the named serdes; `readAll()` returns what arrived since the last read. */
  output<K = any, V = any>(topic: string, serdes: { key: string; value: string }) {
    const ks = this.serde(serdes.key);
    const vs = this.serde(serdes.value);
    return {
      readAll: (): Array<TestRecord<K, V>> => this.read(topic).map((r) => toTest(r, ks, vs)),
      isEmpty: () => (this.topics.get(topic)?.length ?? 0) <= (this.readPositions.get(topic) ?? 0),
    };
  }

  private read(topic: string): OutgoingRecord[] {
    const all = this.topics.get(topic) ?? [];
    const from = this.readPositions.get(topic) ?? 0;
    this.readPositions.set(topic, all.length);
    return all.slice(from);
  }

  /** Dead letters since the last read: original bytes and the reason headers. */
  deadLetters(): Array<{
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, string>;
  }> {
    return this.read(this.dlqTopic).map((r) => ({
      key: r.key,
      value: r.value,
      headers: headerStrings(r.headers),
    }));
  }

  keyValueStore<K = any, V = any>(name: string): KeyValueStore<K, V> {
    return this.store(name) as KeyValueStore<K, V>;
  }

  windowStore<K = any, V = any>(name: string): WindowStore<K, V> {
    return this.store(name) as WindowStore<K, V>;
  }

  private store(name: string): unknown {
    for (const e of this.engines) {
      const s = e.stores.find((x) => x.name === name);
      if (s) return s.store;
    }
    throw new Error(`no store "${name}" in this topology`);
  }

  /** Counter values raised by processors (`processor/name` → value). */
  metric(processor: string, name: string): number {
    let n = 0;
    for (const e of this.engines) n += e.counters.get(`${processor}/${name}`) ?? 0;
    return n;
  }

  /** Flushes stores as a runtime commit does; returns the changelog records per store. */
  async commit(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const e of this.engines) {
      const batch = await e.prepareCommit();
      for (const r of batch.records)
        (this.topics.get(r.topic) ?? this.topics.set(r.topic, []).get(r.topic)!).push(r);
      for (const c of batch.changelogs)
        out.set(c.store, (out.get(c.store) ?? 0) + c.records.length);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const e of this.engines) await e.close();
    if (this.stateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}

function headerStrings(h: OutgoingRecord['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k] = String(v);
  return out;
}

function toTest(r: OutgoingRecord, ks: Serde<any>, vs: Serde<any>): TestRecord {
  return {
    key: r.key === null ? null : ks.deserialize(r.key),
    value: r.value === null ? null : vs.deserialize(r.value),
    timestamp: r.timestamp,
    headers: headerStrings(r.headers),
  };
}
