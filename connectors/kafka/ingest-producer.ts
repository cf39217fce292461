/**
 * The ingest producer: takes what the Finnhub sources read (a `TradeSink`) and produces it
 * to Kafka — each single-symbol trade message to `trades.raw`, keyed by symbol, Avro with
 * Confluent framing (through the registry serde you pass as `serialize`); each unreadable
 * frame to `finnhub.dlq` as its original bytes with `millrace.reason`, `millrace.source`,
 * `millrace.timestamp` and `millrace.error` headers.
 *
 * Memory is bounded. Accepted records wait in a queue capped by count and bytes; when it
 * is full, `accept()` does not resolve until acknowledgements free room, so a slow or
 * absent broker slows the source instead of growing a buffer (`backpressureWait` counts
 * it; a wait over a second is logged). Records leave in batches (`lingerMs` lets a batch
 * fill), one batch in flight, with an idempotent producer and acks=all. A failed batch is
 * retried with capped, jittered backoff until it is acknowledged; a record counts as
 * delivered only then. Retrying a batch that failed part-way can write the part that had
 * succeeded again: the pipeline's dedupe step removes such duplicates.
 *
 * @example
 *   const producer = IngestProducer.forKafka(createKafka({ brokers, clientId: 'ingest' }), {
 *     serialize: (m) => rawSerde.serialize(m),
 *   });
 *   await producer.connect();
 *   await new SyntheticSource({ sink: producer }).run(signal);
 *   await producer.close();
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import { backoffDelay, type BackoffOptions } from '../finnhub/backoff.js';
import { silentLogger, type IngestLogger } from '../finnhub/log.js';
import { noopMetrics, type IngestMetrics } from '../finnhub/metrics.js';
import type { TradeSink } from '../finnhub/sink.js';
import type { DeadLetter, TradeMessage } from '../finnhub/types.js';

/** One record on its way to Kafka. */
export interface OutgoingRecord {
  topic: string;
  key: string | null;
  value: Buffer;
  /** Record timestamp, epoch ms. */
  timestamp: number;
  headers?: Record<string, string>;
}

/** Sends one batch and resolves once every record in it is acknowledged (acks=all). */
export interface BatchSender {
  connect(): Promise<void>;
  send(records: OutgoingRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface IngestProducerOptions {
  /** Turns a trade message into the `trades.raw` value (Avro, Confluent framing). */
  serialize(message: TradeMessage): Buffer;
  /** Default `trades.raw`. */
  rawTopic?: string;
  /** Default `finnhub.dlq`. */
  dlqTopic?: string;
  /** Records accepted but not yet acknowledged, at most. Default 20 000. */
  maxQueuedMessages?: number;
  /** Their bytes (keys + values + headers), at most. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Records per request, at most. Default 5 000. */
  batchMessages?: number;
  /** Bytes per request, at most. Default 1 MiB (the broker's default record-batch limit). */
  batchBytes?: number;
  /** How long an idle producer waits for a batch to fill, ms. Default 5. */
  lingerMs?: number;
  /** A source wait longer than this is logged (at most every 10 s), ms. Default 1 000. */
  slowWaitMs?: number;
  /** Delays between attempts at a failed batch. Default 200 ms doubling to 10 s, full jitter. */
  retry?: BackoffOptions;
  metrics?: IngestMetrics;
  /** Structured logger. Default: silent. */
  logger?: IngestLogger;
  /** Wall clock for the records' Kafka timestamps, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Counters of an `IngestProducer`. */
export interface IngestProducerStats {
  /** Trade messages accepted from sources. */
  accepted: number;
  /** Dead letters accepted. */
  deadLetters: number;
  /** Records acknowledged by Kafka (both topics). */
  delivered: number;
  /** Records accepted and not yet acknowledged. */
  queuedMessages: number;
  queuedBytes: number;
  /** The most records / bytes ever queued at once. */
  peakQueuedMessages: number;
  peakQueuedBytes: number;
  /** Times a source had to wait for room. */
  backpressureWaits: number;
  /** Failed send attempts that were retried. */
  retries: number;
  batches: number;
}

/** A failure of the ingest producer: `UNDELIVERED` (closed before all acks), `SEND_FAILED` (not retriable). */
export class IngestError extends Error {
  readonly domain: 'external' | 'internal';
  readonly retriable = false;
  constructor(
    readonly code: 'UNDELIVERED' | 'SEND_FAILED' | 'CLOSED',
    message: string,
    opts: { domain?: 'external' | 'internal'; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'IngestError';
    this.domain = opts.domain ?? 'external';
  }
}

interface Entry {
  record: OutgoingRecord;
  bytes: number;
}

interface Waiter {
  bytes: number;
  since: number;
  resolve(): void;
  reject(err: unknown): void;
}

const HEADER = {
  reason: 'millrace.reason',
  source: 'millrace.source',
  timestamp: 'millrace.timestamp',
  error: 'millrace.error',
} as const;

export class IngestProducer implements TradeSink {
  private readonly o: Required<
    Omit<IngestProducerOptions, 'serialize' | 'metrics' | 'logger' | 'now'>
  >;
  private readonly metrics: IngestMetrics;
  private readonly log: IngestLogger;
  private pending: Entry[] = [];
  private pendingBytes = 0;
  /** When the oldest pending record arrived: the linger counts from there, as in Kafka. */
  private pendingSince = 0;
  private flushing = 0;
  private waiters: Waiter[] = [];
  private sending = false;
  private linger: NodeJS.Timeout | undefined;
  private failure: unknown;
  private closing = false;
  private idle: Array<() => void> = [];
  private lastSlowLog = 0;
  private readonly now: () => number;
  private readonly s: IngestProducerStats = {
    accepted: 0,
    deadLetters: 0,
    delivered: 0,
    queuedMessages: 0,
    queuedBytes: 0,
    peakQueuedMessages: 0,
    peakQueuedBytes: 0,
    backpressureWaits: 0,
    retries: 0,
    batches: 0,
  };

  constructor(
    private readonly sender: BatchSender,
    private readonly opts: IngestProducerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.o = {
      rawTopic: opts.rawTopic ?? 'trades.raw',
      dlqTopic: opts.dlqTopic ?? 'finnhub.dlq',
      maxQueuedMessages: opts.maxQueuedMessages ?? 20_000,
      maxQueuedBytes: opts.maxQueuedBytes ?? 16 * 1024 * 1024,
      batchMessages: opts.batchMessages ?? 5_000,
      batchBytes: opts.batchBytes ?? 1024 * 1024,
      lingerMs: opts.lingerMs ?? 5,
      slowWaitMs: opts.slowWaitMs ?? 1000,
      retry: opts.retry ?? { initialMs: 200, maxMs: 10_000 },
    };
    this.metrics = opts.metrics ?? noopMetrics;
    this.log = opts.logger ?? silentLogger;
  }

  /** A producer over kafkajs: idempotent, acks=all, one request in flight. */
  static forKafka(kafka: Kafka, opts: IngestProducerOptions): IngestProducer {
    return new IngestProducer(kafkaBatchSender(kafka), opts);
  }

  connect(): Promise<void> {
    return this.sender.connect();
  }

  /** Queues one trade message for `trades.raw`, keyed by its symbol; waits while the queue is full. */
  accept(message: TradeMessage): Promise<void> {
    this.s.accepted++;
    return this.enqueue({
      topic: this.o.rawTopic,
      key: message.data[0]?.s ?? null,
      value: this.opts.serialize(message),
      // The record's Kafka timestamp is when it was ingested, by the wall clock: event time
      // lives in the payload. A replayed or deterministic feed stamped with its (old) event
      // time would be deleted by the broker's retention minutes after it was written.
      timestamp: this.now(),
    });
  }

  /** Queues a frame that could not be read for `finnhub.dlq`, as its original bytes. */
  deadLetter(letter: DeadLetter): Promise<void> {
    this.s.deadLetters++;
    return this.enqueue({
      topic: this.o.dlqTopic,
      key: null,
      value: letter.bytes,
      timestamp: this.now(),
      headers: {
        [HEADER.reason]: letter.reason,
        [HEADER.source]: letter.source,
        [HEADER.timestamp]: String(letter.timestamp),
        [HEADER.error]: letter.detail.slice(0, 1000),
      },
    });
  }

  stats(): IngestProducerStats {
    return { ...this.s };
  }

  /**
   * Sends everything queued and waits for the acknowledgements, at most `timeoutMs`
   * (default: no limit). Rejects with `UNDELIVERED` on timeout, or with the failure.
   */
  async flush(timeoutMs = Infinity): Promise<void> {
    this.flushing++;
    this.kick(true);
    const done = new Promise<void>((resolve) => {
      if (this.s.queuedMessages === 0 || this.failure) resolve();
      else this.idle.push(resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([done, timeout]).finally(() => this.flushing--);
    clearTimeout(timer);
    if (this.failure) throw this.failure;
    if (result === 'timeout') throw this.undelivered(timeoutMs);
  }

  /**
   * Flushes (at most `timeoutMs`, default 30 s), then disconnects. Rejects with
   * `UNDELIVERED` naming how many accepted records were not acknowledged.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    try {
      await this.flush(timeoutMs);
    } finally {
      this.closing = true;
      this.fail(new IngestError('CLOSED', 'the ingest producer is closed'), false);
      await this.sender.disconnect().catch(() => undefined);
    }
  }

  private async enqueue(record: OutgoingRecord): Promise<void> {
    if (this.failure) throw this.failure;
    const entry = { record, bytes: sizeOf(record) };
    if (this.waiters.length || !this.fits(entry.bytes)) await this.waitForRoom(entry.bytes);
    else this.reserve(entry.bytes);
    if (!this.pending.length) this.pendingSince = Date.now();
    this.pending.push(entry);
    this.pendingBytes += entry.bytes;
    this.kick(false);
  }

  private fits(bytes: number): boolean {
    if (this.s.queuedMessages === 0) return true;
    return (
      this.s.queuedMessages < this.o.maxQueuedMessages &&
      this.s.queuedBytes + bytes <= this.o.maxQueuedBytes
    );
  }

  private reserve(bytes: number): void {
    const s = this.s;
    s.queuedMessages++;
    s.queuedBytes += bytes;
    if (s.queuedMessages > s.peakQueuedMessages) s.peakQueuedMessages = s.queuedMessages;
    if (s.queuedBytes > s.peakQueuedBytes) s.peakQueuedBytes = s.queuedBytes;
  }

  private waitForRoom(bytes: number): Promise<void> {
    this.s.backpressureWaits++;
    this.kick(true);
    return new Promise((resolve, reject) =>
      this.waiters.push({ bytes, since: Date.now(), resolve, reject }),
    );
  }

  /** Lets waiting sources in, oldest first, as far as room allows. */
  private admit(): void {
    while (this.waiters.length && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.reserve(w.bytes);
      const waitedMs = Date.now() - w.since;
      this.metrics.backpressureWait(waitedMs);
      if (waitedMs >= this.o.slowWaitMs) this.logSlow(waitedMs);
      w.resolve();
    }
  }

  private logSlow(waitedMs: number): void {
    if (Date.now() - this.lastSlowLog < 10_000) return;
    this.lastSlowLog = Date.now();
    this.log.warn('backpressure: a source waited for kafka to acknowledge queued records', {
      waitedMs,
      queuedMessages: this.s.queuedMessages,
      queuedBytes: this.s.queuedBytes,
      backpressureWaits: this.s.backpressureWaits,
    });
  }

  /** Starts sending when a batch is due (`now` forces it), else arms the linger timer. */
  private kick(now: boolean): void {
    if (this.sending || !this.pending.length) return;
    const wait = now || this.due() ? 0 : this.o.lingerMs - (Date.now() - this.pendingSince);
    if (wait > 0) {
      this.linger ??= setTimeout(() => {
        this.linger = undefined;
        this.kick(true);
      }, wait);
      return;
    }
    clearTimeout(this.linger);
    this.linger = undefined;
    void this.sendLoop();
  }

  /** A batch leaves when full, when sources wait for room, on flush, or after the linger. */
  private due(): boolean {
    return (
      this.pending.length >= this.o.batchMessages ||
      this.pendingBytes >= this.o.batchBytes ||
      this.waiters.length > 0 ||
      this.flushing > 0 ||
      Date.now() - this.pendingSince >= this.o.lingerMs
    );
  }

  private async sendLoop(): Promise<void> {
    this.sending = true;
    try {
      do {
        const batch = this.takeBatch();
        await this.sendWithRetry(batch);
        this.delivered(batch);
      } while (this.pending.length && !this.failure && this.due());
    } catch (err) {
      this.fail(err, true);
    } finally {
      this.sending = false;
      if (this.s.queuedMessages === 0 || this.failure) for (const r of this.idle.splice(0)) r();
      else this.kick(false);
    }
  }

  private takeBatch(): Entry[] {
    let n = 0;
    let bytes = 0;
    while (n < this.pending.length && n < this.o.batchMessages) {
      if (n > 0 && bytes + this.pending[n]!.bytes > this.o.batchBytes) break;
      bytes += this.pending[n++]!.bytes;
    }
    this.pendingBytes -= bytes;
    const batch = this.pending.splice(0, n);
    if (this.pending.length) this.pendingSince = Date.now();
    return batch;
  }

  private async sendWithRetry(batch: Entry[]): Promise<void> {
    const records = batch.map((e) => e.record);
    let downSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sender.send(records);
        if (downSince !== undefined)
          this.log.warn('kafka is back: queued records are being delivered', {
            downMs: Date.now() - downSince,
            attempts: attempt + 1,
          });
        return;
      } catch (err) {
        if (!isRetriable(err) || this.closing) throw err;
        downSince ??= Date.now();
        this.s.retries++;
        const delayMs = backoffDelay(Math.min(attempt, 20), this.o.retry);
        if (attempt === 0 || attempt % 10 === 0)
          this.log.warn(
            'kafka send failed; retrying the batch (sources wait once the queue is full)',
            {
              error: err,
              attempt: attempt + 1,
              delayMs,
              batch: records.length,
              queuedMessages: this.s.queuedMessages,
            },
          );
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private delivered(batch: Entry[]): void {
    const s = this.s;
    s.batches++;
    s.delivered += batch.length;
    let raw = 0;
    for (const e of batch) {
      s.queuedMessages--;
      s.queuedBytes -= e.bytes;
      if (e.record.topic === this.o.rawTopic) raw++;
    }
    if (raw) this.metrics.produced(this.o.rawTopic, raw);
    if (batch.length - raw) this.metrics.produced(this.o.dlqTopic, batch.length - raw);
    this.admit();
  }

  private fail(err: unknown, log: boolean): void {
    if (this.failure) return;
    this.failure =
      err instanceof IngestError
        ? err
        : new IngestError(
            'SEND_FAILED',
            `producing to kafka failed and cannot be retried: ${(err as Error)?.message ?? String(err)}`,
            { cause: err },
          );
    if (log) this.log.error('ingest producer failed', { error: this.failure });
    clearTimeout(this.linger);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
    for (const r of this.idle.splice(0)) r();
  }

  private undelivered(timeoutMs: number): IngestError {
    return new IngestError(
      'UNDELIVERED',
      `${this.s.queuedMessages} accepted records were not acknowledged by kafka within ${timeoutMs} ms; they are lost unless the source can resend them (check that the brokers are up)`,
    );
  }
}

function sizeOf(r: OutgoingRecord): number {
  let n = r.value.length + (r.key?.length ?? 0) + 16;
  for (const [k, v] of Object.entries(r.headers ?? {})) n += k.length + v.length;
  return n;
}

/** kafkajs errors say whether retrying can help; "retries exceeded" wraps the real cause. */
function isRetriable(err: unknown): boolean {
  const e = err as { retriable?: boolean; name?: string; cause?: unknown; errors?: unknown[] };
  if (!e || typeof e !== 'object') return false;
  if (Array.isArray(e.errors) && e.errors.length) return e.errors.every(isRetriable);
  if (e.name === 'KafkaJSNumberOfRetriesExceeded') return e.cause ? isRetriable(e.cause) : true;
  return e.retriable === true;
}

/** The kafkajs sender: idempotent producer, acks=all, one request in flight (keeps order per partition). */
export function kafkaBatchSender(kafka: Kafka): BatchSender {
  // A few quick retries inside kafkajs; the ingest producer's own loop retries beyond
  // them, with logs and backoff, so an outage is visible rather than a silent hang.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(records) {
      const byTopic = new Map<string, Message[]>();
      for (const r of records) {
        const list = byTopic.get(r.topic) ?? byTopic.set(r.topic, []).get(r.topic)!;
        list.push({
          key: r.key,
          value: r.value,
          timestamp: String(r.timestamp),
          ...(r.headers ? { headers: r.headers } : {}),
        });
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },
  };
}

/**
 * Creates the topics that are absent (`trades.raw` with `partitions`, `finnhub.dlq`…);
 * returns the ones it created. Existing topics are left as they are.
 *
 * @example await ensureTopics(kafka, [{ topic: 'trades.raw', partitions: 8 }, { topic: 'finnhub.dlq', partitions: 1 }])
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: Array<{ topic: string; partitions: number }>,
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const have = new Set(await admin.listTopics());
    const want = topics.filter((t) => !have.has(t.topic));
    if (want.length)
      await admin.createTopics({
        waitForLeaders: true,
        topics: want.map((t) => ({ topic: t.topic, numPartitions: t.partitions })),
      });
    return want.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}
