/**
 * The task engine: one sub-topology's processors for one partition, with no Kafka in
 * sight. It deserializes raw records at the sources, routes them depth-first through the
 * processors, keeps stream time, fires punctuations, and collects serialized outputs and
 * dead letters for the runtime (or the test driver) to send at commit.
 *
 * The per-record path is synchronous when every processor is: `process()` returns
 * `undefined`, and returns a promise only when a processor or punctuation returned one
 * (the caller awaits it before the next record).
 *
 * The Kafka runtime drives it so:
 * ```ts
 * const engine = await createTaskEngine({ ... });   // or new StreamTaskEngine({ ... })
 * // restore the stores from their changelogs (engine.stores), then:
 * await engine.init();
 * for (const r of polled) { const p = engine.process(r); if (p) await p; }
 * await engine.punctuateWallClock(Date.now());      // now and then
 * const batch = await engine.prepareCommit();       // send batch.records + changelogs, commit batch.offsets
 * await engine.close();
 * ```
 */
import type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorCounter,
  ProcessorMetrics,
  PunctuationType,
  RecordMetadata,
  StreamRecord,
} from '../../processors/api.js';
import type { Serde, StateStore } from '../../state/api.js';
import type { BuiltTopology, Subtopology } from '../../topology/index.js';
import { BuiltTopology as Topology } from '../../topology/index.js';
import { MillraceError } from '../errors.js';
import { encodeOffsetMetadata } from '../offset-metadata.js';
import { deadLetterRecord } from './dead-letter.js';
import { RecordProcessingError, type RecordFailureReason } from './errors.js';
import { Punctuations, type Punctuation } from './punctuation.js';
import type {
  CommitBatch,
  ConsumedOffset,
  FailureAction,
  OutputRecord,
  RawRecord,
  TaskEngine,
  TaskStore,
} from './types.js';

/** Creates processor instances by type (the processor registry, plus the topology's own definitions). */
export interface ProcessorFactory {
  create(type: string, options: unknown, inline: unknown, node: string): Processor;
  /** Role → store name, for types that declare their stores by role (`ctx.stores.<role>`). */
  storeRoles?(type: string, options: unknown, node: string): Record<string, string>;
  /** Named outputs the type declares (forwarding there reaches no one when nothing reads it). */
  outputs?(type: string, options: unknown): readonly string[];
}

/** What a `StreamTaskEngine` is made of (see `createTaskEngine` for the usual way). */
export interface EngineOptions {
  applicationId: string;
  /** `<subtopology>_<partition>`, e.g. `1_3`. */
  taskId: string;
  topology: BuiltTopology;
  subtopology: Subtopology;
  processors: ProcessorFactory;
  /** Serde by name (built-ins and e.g. Avro ones). */
  serde(name: string): Serde<unknown>;
  /** The task's open stores by name (opened by the caller: LevelDB or memory). */
  stores: ReadonlyMap<string, StateStore>;
  /** The instance's global stores by name: processors read them; the task neither flushes nor closes them. */
  globalStores?: ReadonlyMap<string, StateStore>;
  deadLetterTopic: string;
  deserializationErrorHandler: FailureAction;
  processingErrorHandler: FailureAction;
  /** Wall clock (epoch ms); default `Date.now`. The test driver advances its own. */
  now?: () => number;
  /** Metrics per processor; defaults to in-memory counters (see `counters`). */
  metrics?: (processor: string) => ProcessorMetrics;
}

interface Node {
  name: string;
  kind: 'source' | 'processor' | 'sink';
  /** Children on the default output. */
  children: Node[];
  /** Children on named outputs. */
  outputs: Map<string, Node[]>;
  processor?: Processor;
  keySerde?: Serde<unknown>;
  valueSerde?: Serde<unknown>;
  /** Sinks: the run-time topic name. */
  topic?: string;
}

const NO_CHILDREN: Node[] = [];
/** One record in this many has its processor calls timed (when the runtime gave metrics). */
const LATENCY_SAMPLE = 64;

export class StreamTaskEngine implements TaskEngine {
  readonly taskId: string;
  readonly stores: TaskStore[];
  /** In-memory metric counts, `processor/name` → value (kept whether or not `metrics` was given). */
  readonly counters = new Map<string, number>();
  private readonly nodes = new Map<string, Node>();
  private readonly sourcesByTopic = new Map<string, Node>();
  private readonly punctuations = new Punctuations();
  private readonly counterCache = new Map<string, ProcessorCounter>();
  private readonly givenMetrics = new Map<string, ProcessorMetrics>();
  private readonly consumed = new Map<string, ConsumedOffset>();
  private lastConsumed: ConsumedOffset | undefined;
  private outputs: OutputRecord[] = [];
  private pending: Promise<unknown>[] = [];
  private current: RawRecord | undefined;
  private stream = -1;
  private timestamp = 0;
  /** Records since the last one whose processor calls were timed (1 in LATENCY_SAMPLE). */
  private sampleTick = 0;
  private sampling = false;
  private readonly now: () => number;

  constructor(private readonly o: EngineOptions) {
    this.taskId = o.taskId;
    this.now = o.now ?? Date.now;
    this.stores = o.subtopology.stores.map((name) => ({
      name,
      store: this.storeOrFail(name),
      ...(o.topology.store(name)!.logged
        ? { changelogTopic: o.topology.changelogTopic(o.applicationId, name) }
        : {}),
    }));
    this.wire();
  }

  private storeOrFail(name: string): StateStore {
    const s = this.o.stores.get(name);
    if (!s)
      throw new MillraceError(
        `task ${this.o.taskId}: store "${name}" of sub-topology ${this.o.subtopology.id} was not opened; open every store of subtopology.stores`,
        { code: 'STORE_NOT_OPEN', domain: 'internal' },
      );
    return s;
  }

  /** Timestamp of the record in hand (stamped on changelog records). */
  currentTimestamp(): number {
    return this.timestamp;
  }

  /** Highest record timestamp processed (epoch ms); -1 before the first record. */
  streamTime(): number {
    return this.stream;
  }

  /** The stream time committed with the task's offsets, before it processes again. */
  resumeStreamTime(streamTime: number): void {
    if (streamTime > this.stream) this.stream = streamTime;
  }

  // --- wiring -------------------------------------------------------------------

  private wire(): void {
    const { topology, subtopology } = this.o;
    for (const name of subtopology.nodes) {
      const spec = topology.nodesByName.get(name)!;
      this.nodes.set(name, { name, kind: spec.kind, children: NO_CHILDREN, outputs: new Map() });
    }
    for (const node of this.nodes.values()) {
      for (const [output, names] of topology.outputs.get(node.name) ?? []) {
        const children = names.map((c) => this.nodes.get(c)!);
        if (output === '') node.children = children;
        else node.outputs.set(output, children);
      }
      this.wireNode(node);
    }
  }

  private wireNode(node: Node): void {
    const s = this.o.topology.nodesByName.get(node.name)!;
    const app = this.o.applicationId;
    if (s.kind === 'processor') {
      for (const out of this.o.processors.outputs?.(s.type, s.options) ?? [])
        if (!node.outputs.has(out)) node.outputs.set(out, NO_CHILDREN);
      node.processor = this.o.processors.create(
        s.type,
        s.options,
        this.o.topology.inline.get(s.name),
        s.name,
      );
      return;
    }
    node.keySerde = this.o.serde(s.keySerde);
    node.valueSerde = this.o.serde(s.valueSerde);
    if (s.kind === 'sink') node.topic = Topology.topicName(app, s.topic, s.internal);
    else
      for (const t of s.topics)
        this.sourcesByTopic.set(Topology.topicName(app, t, s.internal), node);
  }

  /** Runs the processors' `init()` in topological order (after the runtime restored the stores). */
  async init(): Promise<void> {
    for (const name of this.o.subtopology.nodes) {
      const node = this.nodes.get(name)!;
      if (node.processor?.init) await node.processor.init(this.context(node));
    }
  }

  private context(node: Node): ProcessorContext {
    const spec = this.o.topology.nodesByName.get(node.name) as {
      stores: string[];
      type: string;
      options: unknown;
    };
    const stores: Record<string, unknown> = {};
    const get = (s: string) => this.o.stores.get(s) ?? this.o.globalStores?.get(s);
    for (const s of spec.stores) stores[s] = get(s);
    const roles = this.o.processors.storeRoles?.(spec.type, spec.options, node.name) ?? {};
    for (const [role, s] of Object.entries(roles)) stores[role] = get(s);
    const metrics = this.metricsFor(node.name);
    return {
      applicationId: this.o.applicationId,
      taskId: this.o.taskId,
      processorName: node.name,
      stores,
      forward: (record: StreamRecord, to?: string) => this.forward(node, record, to),
      connected: (output: string) => (node.outputs.get(output)?.length ?? 0) > 0,
      recordMetadata: () => this.metadata(),
      streamTime: () => this.stream,
      currentSystemTime: () => this.now(),
      schedule: (interval, type, cb) => this.schedule(node.name, interval, type, cb),
      deadLetter: (record, reason, error) => this.deadLetter(node.name, reason, error, record),
      metrics,
    };
  }

  private metadata(): RecordMetadata | undefined {
    const c = this.current;
    return c && { topic: c.topic, partition: c.partition, offset: c.offset };
  }

  private metricsFor(processor: string): ProcessorMetrics {
    return {
      counter: (name, help) => this.counter(processor, name, help),
      observe: (name, help, value) => this.given(processor)?.observe(name, help, value),
    };
  }

  /** The runtime's metrics of `processor` (prom-client), if it gave any; asked once per processor. */
  private given(processor: string): ProcessorMetrics | undefined {
    if (!this.o.metrics) return undefined;
    let m = this.givenMetrics.get(processor);
    if (!m) this.givenMetrics.set(processor, (m = this.o.metrics(processor)));
    return m;
  }

  /** A counter kept in `counters` and, when the runtime gave metrics, in its registry too. */
  private counter(processor: string, name: string, help = name): ProcessorCounter {
    const key = `${processor}/${name}`;
    let c = this.counterCache.get(key);
    if (!c) {
      const theirs = this.given(processor)?.counter(name, help);
      const mine = (by = 1) => void this.counters.set(key, (this.counters.get(key) ?? 0) + by);
      c = { inc: theirs ? (by = 1) => (mine(by), theirs.inc(by)) : mine };
      this.counterCache.set(key, c);
    }
    return c;
  }

  private schedule(
    node: string,
    interval: number,
    type: PunctuationType,
    cb: Punctuation['callback'],
  ): Cancellable {
    const base = type === 'stream-time' ? Math.max(this.stream, 0) : this.now();
    return this.punctuations.schedule(node, interval, type, base, cb);
  }

  // --- the record path ----------------------------------------------------------

  /**
   * Processes one consumed record through the sub-topology. Returns a promise only when
   * something asynchronous ran; await it before the next record.
   */
  process(raw: RawRecord): void | Promise<void> {
    const source = this.sourcesByTopic.get(raw.topic);
    if (!source)
      throw new MillraceError(
        `task ${this.taskId} got a record from ${raw.topic}, which none of its sources reads`,
        { code: 'UNKNOWN_SOURCE', domain: 'internal' },
      );
    // A serde that must fetch something before it can decode this record (a schema id not
    // seen yet) makes the record wait for it.
    const keyReady = raw.key && source.keySerde!.prepareFor?.(raw.key);
    const valueReady = raw.value && source.valueSerde!.prepareFor?.(raw.value);
    if (keyReady || valueReady)
      return Promise.all([keyReady, valueReady]).then(() => this.processFrom(source, raw));
    return this.processFrom(source, raw);
  }

  private processFrom(source: Node, raw: RawRecord): void | Promise<void> {
    this.current = raw;
    this.timestamp = raw.timestamp;
    if (raw.timestamp > this.stream) this.stream = raw.timestamp;
    this.markConsumed(raw);
    let key: unknown;
    let value: unknown;
    try {
      key = raw.key === null ? null : source.keySerde!.deserialize(raw.key);
      value = raw.value === null ? null : source.valueSerde!.deserialize(raw.value);
    } catch (err) {
      this.onFailure(this.o.deserializationErrorHandler, source.name, 'deserialization_error', err);
      return this.afterRecord();
    }
    this.sampling = this.o.metrics !== undefined && ++this.sampleTick % LATENCY_SAMPLE === 0;
    const children = source.children;
    const record: StreamRecord = {
      key,
      value,
      timestamp: raw.timestamp,
      headers: raw.headers as StreamRecord['headers'],
    };
    for (let i = 0; i < children.length; i++) this.deliver(children[i]!, record);
    return this.afterRecord();
  }

  /** See TaskEngine.consumedUpTo: the next commit's offset of `topic:partition` is at least `next`. */
  consumedUpTo(topic: string, partition: number, next: number): void {
    const key = `${topic}:${partition}`;
    const c = this.consumed.get(key);
    if (!c) this.consumed.set(key, { topic, partition, offset: next });
    else if (next > c.offset) c.offset = next;
  }

  private markConsumed(raw: RawRecord): void {
    const last = this.lastConsumed;
    if (last && last.topic === raw.topic && last.partition === raw.partition) {
      last.offset = raw.offset + 1;
      return;
    }
    const key = `${raw.topic}:${raw.partition}`;
    let c = this.consumed.get(key);
    if (!c) this.consumed.set(key, (c = { topic: raw.topic, partition: raw.partition, offset: 0 }));
    c.offset = raw.offset + 1;
    this.lastConsumed = c;
  }

  private afterRecord(): void | Promise<void> {
    if (this.stream >= this.punctuations.nextStreamTime) {
      if (this.pending.length)
        return this.settle().then(() => this.punctuate('stream-time', this.stream));
      return this.punctuate('stream-time', this.stream);
    }
    if (this.pending.length) return this.settle();
  }

  private async settle(): Promise<void> {
    while (this.pending.length) {
      const p = this.pending;
      this.pending = [];
      await Promise.all(p);
    }
  }

  private forward(from: Node, record: StreamRecord, to?: string): void {
    const children = to === undefined ? from.children : this.named(from, to);
    for (let i = 0; i < children.length; i++) this.deliver(children[i]!, record);
  }

  /** Children on output `to`, or the child named `to` (Kafka Streams' `To.child`). */
  private named(from: Node, to: string): Node[] {
    const out = from.outputs.get(to);
    if (out) return out;
    const child = from.children.find((c) => c.name === to);
    if (child) return [child];
    throw new MillraceError(
      `${from.name} forwarded to "${to}", which is neither one of its outputs (${[...from.outputs.keys()].join(', ') || 'none'}) nor a child (${from.children.map((c) => c.name).join(', ') || 'none'}); declare the output in the processor's definition`,
      { code: 'UNKNOWN_OUTPUT', domain: 'user' },
    );
  }

  private deliver(node: Node, record: StreamRecord): void {
    if (node.kind === 'sink') return this.emit(node, record);
    if (this.sampling) return this.deliverTimed(node, record);
    this.call(node, record);
  }

  /**
   * One sampled call, timed into the runtime's `process_latency_seconds`: the processor's
   * synchronous work including the children it forwards to (as in Kafka Streams).
   */
  private deliverTimed(node: Node, record: StreamRecord): void {
    const t0 = performance.now();
    this.call(node, record);
    this.given(node.name)?.observe(
      'process_latency_seconds',
      'Time to process one record in a processor, with what it forwards (sampled)',
      (performance.now() - t0) / 1000,
    );
  }

  private call(node: Node, record: StreamRecord): void {
    try {
      const r = node.processor!.process(record);
      if (r) this.pending.push(r.catch((err: unknown) => this.onProcessingError(node.name, err)));
    } catch (err) {
      this.onProcessingError(node.name, err);
    }
  }

  private onProcessingError(node: string, err: unknown): void {
    if (err instanceof RecordProcessingError) throw err; // already handled where it happened
    this.onFailure(this.o.processingErrorHandler, node, 'processing_error', err);
  }

  private emit(sink: Node, record: StreamRecord): void {
    const k = record.key;
    const v = record.value;
    const h = record.headers;
    this.outputs.push({
      topic: sink.topic!,
      key: k === null || k === undefined ? null : sink.keySerde!.serialize(k),
      value: v === null || v === undefined ? null : sink.valueSerde!.serialize(v),
      timestamp: record.timestamp,
      // No headers is the usual case (the client decodes them as {}): left out, the produce
      // path does not look for any (the same bytes on the wire either way).
      headers: h !== undefined && hasKeys(h) ? (h as OutputRecord['headers']) : undefined,
    });
  }

  private onFailure(
    action: FailureAction,
    node: string,
    reason: RecordFailureReason,
    err: unknown,
  ): void {
    const raw = this.current;
    if (action === 'fail') {
      throw new RecordProcessingError(
        reason,
        {
          task: this.taskId,
          processor: node,
          topic: raw?.topic,
          partition: raw?.partition,
          offset: raw?.offset,
        },
        err,
      );
    }
    if (action === 'dead-letter') this.deadLetter(node, reason, err);
    else
      this.counter(
        node,
        `${reason}_skipped`,
        `Records skipped after a ${reason.replace('_', ' ')}`,
      ).inc();
  }

  /** Sends the input record in hand (original bytes) to the dead-letter topic, with why. */
  private deadLetter(node: string, reason: string, error?: unknown, record?: StreamRecord): void {
    this.counter(node, `dlq_${reason}`, `Records sent to the dead-letter topic (${reason})`).inc();
    this.outputs.push(
      deadLetterRecord({
        topic: this.o.deadLetterTopic,
        task: this.taskId,
        processor: node,
        reason,
        error,
        raw: this.current,
        record,
        now: this.now(),
      }),
    );
  }

  // --- punctuation --------------------------------------------------------------

  private punctuate(type: PunctuationType, now: number): void | Promise<void> {
    const due = this.punctuations.takeDue(type, now);
    if (!due) return;
    this.current = undefined;
    for (const p of due) {
      try {
        const r = p.callback(now);
        if (r) this.pending.push(r.catch((err: unknown) => this.onPunctuationError(p.node, err)));
      } catch (err) {
        this.onPunctuationError(p.node, err);
      }
    }
    if (this.pending.length) return this.settle();
  }

  private onPunctuationError(node: string, err: unknown): void {
    if (err instanceof RecordProcessingError) throw err;
    this.onFailure(this.o.processingErrorHandler, node, 'punctuation_error', err);
  }

  /** Fires the wall-clock punctuations due at `now` (epoch ms). */
  punctuateWallClock(now: number): void | Promise<void> {
    return this.punctuate('wall-clock', now);
  }

  /** Runs the processors' `flush()` in topological order, so what they forward reaches the ones below. */
  private async flushProcessors(): Promise<void> {
    this.current = undefined;
    for (const name of this.o.subtopology.nodes) {
      const node = this.nodes.get(name)!;
      if (!node.processor?.flush) continue;
      try {
        const r = node.processor.flush();
        if (r) this.pending.push(r.catch((err: unknown) => this.onPunctuationError(name, err)));
      } catch (err) {
        this.onPunctuationError(name, err);
      }
      await this.settle();
    }
  }

  /** Records produced since the last take or commit. */
  get pendingOutputs(): number {
    return this.outputs.length;
  }

  /**
   * Takes the records produced so far without flushing stores (the test driver reads them
   * at once; the runtime sends them ahead of a commit under exactly-once).
   */
  takeOutputs(): OutputRecord[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  // --- commit -------------------------------------------------------------------

  /**
   * Prepares a commit: waits for pending work, flushes every store, and hands over the
   * records produced, the changelog records per logged store and the consumed offsets
   * since the last call. The runtime sends them together (one transaction under EOS).
   */
  async prepareCommit(): Promise<CommitBatch> {
    await this.settle();
    await this.flushProcessors();
    const changelogs: CommitBatch['changelogs'] = [];
    for (const s of this.stores) {
      await s.store.flush();
      const records = s.store.drainChangelog();
      if (s.changelogTopic && records.length)
        changelogs.push({ store: s.name, topic: s.changelogTopic, records });
    }
    const records = this.takeOutputs();
    const metadata = encodeOffsetMetadata(this.stream);
    const offsets = [...this.consumed.values()].map((c) => ({ ...c, metadata }));
    this.consumed.clear();
    this.lastConsumed = undefined;
    return { records, changelogs, offsets };
  }

  /** Closes processors, then stores (without committing); errors of one do not stop the others. */
  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      try {
        await node.processor?.close?.();
      } catch {
        /* closing goes on */
      }
    }
    for (const s of this.stores) await s.store.close().catch(() => {});
  }
}

/** Whether an object has an own or inherited enumerable key, without listing them. */
function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
