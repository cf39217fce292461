/**
 * The Processor contract: what a user (or a built-in) implements, and the context the
 * engine gives it. A processor never sees the Kafka client: only its context.
 */

/** Header values as Kafka carries them. */
export type Headers = Record<string, string | Buffer>;

/** A record flowing through the topology. `timestamp` is epoch ms (event time). */
export interface StreamRecord<K = unknown, V = unknown> {
  key: K;
  value: V;
  timestamp: number;
  headers?: Headers;
}

/** Where the record being processed came from (absent inside a wall-clock punctuation). */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export type PunctuationType = 'stream-time' | 'wall-clock';

export interface Cancellable {
  cancel(): void;
}

/** A counter a processor may raise; bound to prom-client by the runtime, to memory in tests. */
export interface ProcessorCounter {
  inc(by?: number): void;
}

export interface ProcessorMetrics {
  /** A counter labelled by app/task/processor; `name` is the metric suffix, e.g. `duplicates_dropped`. */
  counter(name: string, help: string): ProcessorCounter;
  /** Observe a value (seconds or a plain number) in a histogram labelled by app/task/processor. */
  observe(name: string, help: string, value: number): void;
}

/**
 * What a processor sees. `S` maps its declared stores to typed stores (by role when the
 * definition declares a record of roles, else by store name). `forward()` sends a record
 * synchronously, depth-first, to the children on the default output — or, with `to`, to
 * the children on that named output (or to the one child of that name); if a descendant
 * is asynchronous the engine awaits it before the next input record, so a processor
 * never needs to await `forward()`.
 */
export interface ProcessorContext<KOut = unknown, VOut = unknown, S = Record<string, unknown>> {
  readonly applicationId: string;
  /** `<subtopology>_<partition>`, e.g. `0_3`. */
  readonly taskId: string;
  readonly processorName: string;
  /** The processor's declared stores, by name. */
  readonly stores: S;
  forward(record: StreamRecord<KOut, VOut>, to?: string): void;
  /** True when some child reads the named output `output` (so a forward there is not lost). */
  connected(output: string): boolean;
  /** Timestamp, headers and origin of the record in hand. */
  recordMetadata(): RecordMetadata | undefined;
  /** Highest record timestamp seen by this task (epoch ms); -1 before the first record. */
  streamTime(): number;
  /** Wall-clock now (epoch ms); advanced by hand in the test driver. */
  currentSystemTime(): number;
  /** Fire `callback` every `intervalMs` of stream time or wall-clock time. */
  schedule(
    intervalMs: number,
    type: PunctuationType,
    callback: (timestamp: number) => void | Promise<void>,
  ): Cancellable;
  /** Send a record to the dead-letter topic with a reason (headers say why and where from). */
  deadLetter(record: StreamRecord, reason: string, error?: unknown): void;
  readonly metrics: ProcessorMetrics;
}

export interface Processor<
  KIn = unknown,
  VIn = unknown,
  KOut = unknown,
  VOut = unknown,
  S = Record<string, unknown>,
> {
  init?(context: ProcessorContext<KOut, VOut, S>): void | Promise<void>;
  process(record: StreamRecord<KIn, VIn>): void | Promise<void>;
  /**
   * Called before each commit of the task, parents before children: forward what the
   * processor held back (e.g. the newest aggregate per key), so that it leaves in the same
   * commit as the input that caused it. No record is in hand (`recordMetadata()` is
   * undefined), as in a punctuation.
   */
  flush?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** What happens to a record whose processing threw. */
export type ProcessingFailureAction = 'continue' | 'fail' | 'dead-letter';
