/**
 * The task engine: one sub-topology's processors for one partition, with no Kafka in
 * sight. It deserializes raw records at the sources, routes them depth-first through
 * the processors, keeps stream time, fires punctuations, and collects serialized
 * outputs and dead letters for the runtime (or the test driver) to send at commit.
 *
 * The per-record path is synchronous when every processor is; a processor that returns
 * a promise is awaited before the next input record.
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
import type { BuiltTopology, NodeSpec, Subtopology } from '../../topology/index.js';
import { BuiltTopology as BT } from '../../topology/index.js';
import { MillraceError } from '../errors.js';
import type { OutgoingRecord } from '../producers.js';
import type { CommitBatch, RawRecord, TaskEngine, TaskStore } from '../task-port.js';

export type FailureAction = 'continue' | 'fail' | 'dead-letter';

/** Creates processor instances by type (the processor registry). */
export interface ProcessorFactory {
  create(type: string, options: unknown, inline: unknown, node: string): Processor;
}

export interface EngineOptions {
  applicationId: string;
  taskId: string;
  topology: BuiltTopology;
  subtopology: Subtopology;
  processors: ProcessorFactory;
  serde(name: string): Serde<any>;
  /** The task's open stores by name (opened by the caller: LevelDB or memory). */
  stores: ReadonlyMap<string, StateStore>;
  deadLetterTopic: string;
  deserializationErrorHandler: FailureAction;
  processingErrorHandler: FailureAction;
  /** Wall clock (epoch ms); the test driver advances its own. */
  now?: () => number;
  /** Metrics per processor; defaults to in-memory counters (see `counters`). */
  metrics?: (processor: string) => ProcessorMetrics;
}

interface Node {
  spec: NodeSpec;
  children: Node[];
  byName: Map<string, Node>;
  processor?: Processor;
  ctx?: ProcessorContext;
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  topic?: string;
}

interface Schedule {
  interval: number;
  next: number;
  type: PunctuationType;
  node: Node;
  cb: (ts: number) => void | Promise<void>;
  cancelled: boolean;
}

export class StreamTaskEngine implements TaskEngine {
  readonly taskId: string;
  readonly stores: TaskStore[];
  /** In-memory metric counts: `processor/name` → value (used when no metrics were given). */
  readonly counters = new Map<string, number>();
  private readonly nodes = new Map<string, Node>();
  private readonly sourcesByTopic = new Map<string, Node>();
  private outputs: OutgoingRecord[] = [];
  private pending: Promise<unknown>[] = [];
  private schedules: Schedule[] = [];
  private current: RawRecord | undefined;
  private currentNode = '';
  private stream = -1;
  private timestamp = 0;
  private readonly now: () => number;

  constructor(private readonly o: EngineOptions) {
    this.taskId = o.taskId;
    this.now = o.now ?? Date.now;
    this.stores = o.subtopology.stores.map((name) => ({
      name,
      store: o.stores.get(name)!,
      ...(o.topology.store(name)!.logged
        ? { changelogTopic: o.topology.changelogTopic(o.applicationId, name) }
        : {}),
    }));
    this.wire();
  }

  /** Record timestamp in hand (for changelog records). */
  currentTimestamp(): number {
    return this.timestamp;
  }

  streamTime(): number {
    return this.stream;
  }

  private wire(): void {
    const { topology, subtopology, applicationId } = this.o;
    for (const name of subtopology.nodes)
      this.nodes.set(name, {
        spec: topology.nodesByName.get(name)!,
        children: [],
        byName: new Map(),
      });
    for (const node of this.nodes.values()) {
      for (const c of topology.children.get(node.spec.name) ?? []) {
        const child = this.nodes.get(c)!;
        node.children.push(child);
        node.byName.set(c, child);
      }
      const s = node.spec;
      if (s.kind === 'source') {
        node.keySerde = this.o.serde(s.keySerde);
        node.valueSerde = this.o.serde(s.valueSerde);
        for (const t of s.topics)
          this.sourcesByTopic.set(BT.topicName(applicationId, t, s.internal), node);
      } else if (s.kind === 'sink') {
        node.keySerde = this.o.serde(s.keySerde);
        node.valueSerde = this.o.serde(s.valueSerde);
        node.topic = BT.topicName(applicationId, s.topic, s.internal);
      } else {
        node.processor = this.o.processors.create(
          s.type,
          s.options,
          topology.inline.get(s.name),
          s.name,
        );
        node.ctx = this.context(node);
      }
    }
  }

  async init(): Promise<void> {
    for (const name of this.o.subtopology.nodes) {
      const node = this.nodes.get(name)!;
      if (node.processor?.init) await node.processor.init(node.ctx!);
    }
  }

  private counter(processor: string, name: string): ProcessorCounter {
    const key = `${processor}/${name}`;
    return { inc: (by = 1) => void this.counters.set(key, (this.counters.get(key) ?? 0) + by) };
  }

  private context(node: Node): ProcessorContext {
    const stores: Record<string, unknown> = {};
    for (const s of (node.spec as { stores: string[] }).stores) stores[s] = this.o.stores.get(s);
    const metrics = this.o.metrics?.(node.spec.name) ?? {
      counter: (name: string) => this.counter(node.spec.name, name),
      observe: () => {},
    };
    return {
      applicationId: this.o.applicationId,
      taskId: this.o.taskId,
      processorName: node.spec.name,
      stores,
      forward: (record: StreamRecord, childName?: string) => this.forward(node, record, childName),
      recordMetadata: (): RecordMetadata | undefined =>
        this.current
          ? {
              topic: this.current.topic,
              partition: this.current.partition,
              offset: this.current.offset,
            }
          : undefined,
      streamTime: () => this.stream,
      currentSystemTime: () => this.now(),
      schedule: (interval, type, cb) => this.schedule(node, interval, type, cb),
      deadLetter: (record, reason, error) => this.deadLetter(node.spec.name, reason, error, record),
      metrics,
    };
  }

  private schedule(
    node: Node,
    interval: number,
    type: PunctuationType,
    cb: Schedule['cb'],
  ): Cancellable {
    const base = type === 'stream-time' ? Math.max(this.stream, 0) : this.now();
    const s: Schedule = { interval, next: base + interval, type, node, cb, cancelled: false };
    this.schedules.push(s);
    return { cancel: () => void (s.cancelled = true) };
  }

  // --- the record path ----------------------------------------------------------

  process(raw: RawRecord): void | Promise<void> {
    const source = this.sourcesByTopic.get(raw.topic);
    if (!source)
      throw new MillraceError(
        `task ${this.taskId} got a record from ${raw.topic}, which none of its sources reads`,
        { code: 'UNKNOWN_SOURCE', domain: 'internal' },
      );
    this.current = raw;
    this.timestamp = raw.timestamp;
    if (raw.timestamp > this.stream) this.stream = raw.timestamp;
    let key: unknown;
    let value: unknown;
    try {
      key = raw.key === null ? null : source.keySerde!.deserialize(raw.key);
      value = raw.value === null ? null : source.valueSerde!.deserialize(raw.value);
    } catch (err) {
      this.onFailure(
        this.o.deserializationErrorHandler,
        source.spec.name,
        'deserialization_error',
        err,
      );
      return this.afterRecord();
    }
    const headers = raw.headers as StreamRecord['headers'];
    this.forward(source, { key, value, timestamp: raw.timestamp, headers });
    return this.afterRecord();
  }

  private afterRecord(): void | Promise<void> {
    const due = this.schedules.length ? this.dueStreamTime() : undefined;
    if (!this.pending.length && !due) return;
    return this.settle(due);
  }

  private async settle(due?: Schedule[]): Promise<void> {
    while (this.pending.length) {
      const p = this.pending;
      this.pending = [];
      await Promise.all(p);
    }
    if (due) await this.fire(due, this.stream);
  }

  private forward(from: Node, record: StreamRecord, childName?: string): void {
    if (childName !== undefined) {
      const child = from.byName.get(childName);
      if (!child)
        throw new MillraceError(
          `${from.spec.name} forwarded to "${childName}", which is not one of its children (${[...from.byName.keys()].join(', ')})`,
          { code: 'UNKNOWN_CHILD', domain: 'user' },
        );
      this.deliver(child, record);
      return;
    }
    const children = from.children;
    for (let i = 0; i < children.length; i++) this.deliver(children[i]!, record);
  }

  private deliver(node: Node, record: StreamRecord): void {
    if (node.spec.kind === 'sink') {
      this.emit(node, record);
      return;
    }
    const prev = this.currentNode;
    this.currentNode = node.spec.name;
    try {
      const r = node.processor!.process(record);
      if (r)
        this.pending.push(
          r.catch((err: unknown) =>
            this.onFailure(this.o.processingErrorHandler, node.spec.name, 'processing_error', err),
          ),
        );
    } catch (err) {
      this.onFailure(this.o.processingErrorHandler, node.spec.name, 'processing_error', err);
    } finally {
      this.currentNode = prev;
    }
  }

  private emit(sink: Node, record: StreamRecord): void {
    const key =
      record.key === null || record.key === undefined ? null : sink.keySerde!.serialize(record.key);
    const value =
      record.value === null || record.value === undefined
        ? null
        : sink.valueSerde!.serialize(record.value);
    this.outputs.push({
      topic: sink.topic!,
      key,
      value,
      timestamp: record.timestamp,
      headers: record.headers as OutgoingRecord['headers'],
    });
  }

  private onFailure(action: FailureAction, node: string, reason: string, err: unknown): void {
    const raw = this.current;
    if (action === 'fail') {
      throw new MillraceError(
        `${reason.replace('_', ' ')} in ${node} (task ${this.taskId}${raw ? `, ${raw.topic}[${raw.partition}]@${raw.offset}` : ''}): ${(err as Error)?.message ?? String(err)}`,
        {
          code: reason.toUpperCase(),
          domain: 'user',
          cause: err,
          at: {
            task: this.taskId,
            processor: node,
            topic: raw?.topic,
            partition: raw?.partition,
            offset: raw?.offset,
          },
        },
      );
    }
    this.counter(
      node,
      action === 'continue' ? `${reason}_skipped` : `${reason}_dead_lettered`,
    ).inc();
    if (action === 'dead-letter') this.deadLetter(node, reason, err);
  }

  /** Sends the raw input record in hand (original bytes) to the dead-letter topic with why. */
  private deadLetter(node: string, reason: string, error?: unknown, record?: StreamRecord): void {
    const raw = this.current;
    const headers: Record<string, string | Buffer> = {};
    for (const [k, v] of Object.entries(raw?.headers ?? {})) if (v !== undefined) headers[k] = v;
    headers['millrace.reason'] = reason;
    headers['millrace.processor'] = node;
    headers['millrace.task'] = this.taskId;
    if (raw) {
      headers['millrace.source.topic'] = raw.topic;
      headers['millrace.source.partition'] = String(raw.partition);
      headers['millrace.source.offset'] = String(raw.offset);
    }
    if (error !== undefined)
      headers['millrace.error'] = String((error as Error)?.message ?? error).slice(0, 1000);
    this.counter(node, `dlq_${reason}`).inc();
    this.outputs.push({
      topic: this.o.deadLetterTopic,
      key: raw?.key ?? null,
      value: raw ? raw.value : record ? Buffer.from(JSON.stringify(record.value)) : null,
      timestamp: raw?.timestamp ?? record?.timestamp ?? this.now(),
      headers,
    });
  }

  // --- punctuation --------------------------------------------------------------

  private dueStreamTime(): Schedule[] | undefined {
    let due: Schedule[] | undefined;
    for (const s of this.schedules)
      if (!s.cancelled && s.type === 'stream-time' && this.stream >= s.next) (due ??= []).push(s);
    return due;
  }

  private async fire(due: Schedule[], ts: number): Promise<void> {
    this.current = undefined;
    for (const s of due) {
      s.next = ts - ((ts - s.next) % s.interval) + s.interval;
      const r = s.node.processor ? s.cb(ts) : undefined;
      if (r) await r;
      await this.settle();
    }
    this.schedules = this.schedules.filter((s) => !s.cancelled);
  }

  punctuateWallClock(now: number): void | Promise<void> {
    const due = this.schedules.filter(
      (s) => !s.cancelled && s.type === 'wall-clock' && now >= s.next,
    );
    if (due.length) return this.fire(due, now);
  }

  /** Takes the records produced so far without flushing stores (the test driver reads them at once). */
  takeOutputs(): OutgoingRecord[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  // --- commit -------------------------------------------------------------------

  async prepareCommit(): Promise<CommitBatch> {
    await this.settle();
    const changelogs: CommitBatch['changelogs'] = [];
    for (const s of this.stores) {
      await s.store.flush();
      const records = s.store.drainChangelog();
      if (s.changelogTopic && records.length)
        changelogs.push({ store: s.name, topic: s.changelogTopic, records });
    }
    const records = this.outputs;
    this.outputs = [];
    return { records, changelogs };
  }

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
