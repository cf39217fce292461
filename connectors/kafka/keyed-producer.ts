/**
 * A keyed, idempotent, bounded producer: records (topic, key, value, timestamp, headers)
 * go to Kafka in order, with acks=all, and a record counts as delivered only once it is
 * acknowledged. It knows no record format: the Finnhub ingest (connectors/finnhub/
 * ingest-producer.ts) builds its records and hands them to `send()`.
 *
 * Memory is bounded. Accepted records wait in a queue capped by count and bytes; when it
 * is full, `send()` does not resolve until acknowledgements free room, so a slow or
 * absent broker slows the caller instead of growing a buffer (`backpressureWait` counts
 * it; a wait over a second is logged). Records leave in batches (`lingerMs` lets a batch
 * fill), one batch in flight, with an idempotent producer and acks=all. A failed batch is
 * retried with capped, jittered backoff until it is acknowledged. Retrying a batch that
 * failed part-way can write the part that had succeeded again: a consumer that must not
 * see duplicates removes them (the pipeline's dedupe step does).
 *
 * @example
 *   const producer = new KeyedProducer(kafkaBatchSender(createKafka({ brokers, clientId: 'ingest' })));
 *   await producer.connect();
 *   await producer.send({ topic: 'events', key: 'a', value: Buffer.from('1'), timestamp: Date.now() });
 *   await producer.close();
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import { backoffDelay, type BackoffOptions } from '../common/backoff.js';

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

/** The counters a producer reports; bind them to Prometheus, a live line or a test. */
export interface ProducerMetrics {
  /** Records acknowledged by Kafka (acks=all), by topic. */
  produced(topic: string, count: number): void;
  /** A caller waited `ms` for room in the bounded queue (backpressure). */
  backpressureWait(ms: number): void;
}

/** What the producer logs through (warnings and its failure); any structured logger fits. */
export interface ProducerLogger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

const silent: ProducerLogger = { error() {}, warn() {} };
const noMetrics: ProducerMetrics = { produced() {}, backpressureWait() {} };

export interface KeyedProducerOptions {
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
  /** A caller's wait longer than this is logged (at most every 10 s), ms. Default 1 000. */
  slowWaitMs?: number;
  /** Delays between attempts at a failed batch. Default 200 ms doubling to 10 s, full jitter. */
  retry?: BackoffOptions;
  metrics?: ProducerMetrics;
  /** Structured logger. Default: silent. */
  logger?: ProducerLogger;
}

/** Counters of a `KeyedProducer`. */
export interface KeyedProducerStats {
  /** Records acknowledged by Kafka (all topics). */
  delivered: number;
  /** Records accepted and not yet acknowledged. */
  queuedMessages: number;
  queuedBytes: number;
  /** The most records / bytes ever queued at once. */
  peakQueuedMessages: number;
  peakQueuedBytes: number;
  /** Times a caller had to wait for room. */
  backpressureWaits: number;
  /** Failed send attempts that were retried. */
  retries: number;
  batches: number;
}

/** A failure of the producer: `UNDELIVERED` (closed before all acks), `SEND_FAILED` (not retriable), `CLOSED`. */
export class ProducerError extends Error {
  readonly domain: 'external' | 'internal';
  readonly retriable = false;
  constructor(
    readonly code: 'UNDELIVERED' | 'SEND_FAILED' | 'CLOSED',
    message: string,
    opts: { domain?: 'external' | 'internal'; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProducerError';
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

export class KeyedProducer {
  private readonly o: Required<Omit<KeyedProducerOptions, 'metrics' | 'logger'>>;
  private readonly metrics: ProducerMetrics;
  private readonly log: ProducerLogger;
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
  private readonly s: KeyedProducerStats = {
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
    opts: KeyedProducerOptions = {},
  ) {
    this.o = {
      maxQueuedMessages: opts.maxQueuedMessages ?? 20_000,
      maxQueuedBytes: opts.maxQueuedBytes ?? 16 * 1024 * 1024,
      batchMessages: opts.batchMessages ?? 5_000,
      batchBytes: opts.batchBytes ?? 1024 * 1024,
      lingerMs: opts.lingerMs ?? 5,
      slowWaitMs: opts.slowWaitMs ?? 1000,
      retry: opts.retry ?? { initialMs: 200, maxMs: 10_000 },
    };
    this.metrics = opts.metrics ?? noMetrics;
    this.log = opts.logger ?? silent;
  }

  /** A producer over kafkajs: idempotent, acks=all, one request in flight. */
  static forKafka(kafka: Kafka, opts: KeyedProducerOptions = {}): KeyedProducer {
    return new KeyedProducer(kafkaBatchSender(kafka), opts);
  }

  connect(): Promise<void> {
    return this.sender.connect();
  }

  /**
   * Queues one record; resolves once it is accepted (not yet acknowledged), waiting while
   * the queue is full. Rejects once the producer has failed for good or is closed.
   */
  async send(record: OutgoingRecord): Promise<void> {
    if (this.failure) throw this.failure;
    const entry = { record, bytes: sizeOf(record) };
    if (this.waiters.length || !this.fits(entry.bytes)) await this.waitForRoom(entry.bytes);
    else this.reserve(entry.bytes);
    if (!this.pending.length) this.pendingSince = Date.now();
    this.pending.push(entry);
    this.pendingBytes += entry.bytes;
    this.kick(false);
  }

  stats(): KeyedProducerStats {
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
      this.fail(new ProducerError('CLOSED', 'the producer is closed'), false);
      await this.sender.disconnect().catch(() => undefined);
    }
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

  /** Lets waiting callers in, oldest first, as far as room allows. */
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
    this.log.warn('backpressure: a caller waited for kafka to acknowledge queued records', {
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

  /** A batch leaves when full, when callers wait for room, on flush, or after the linger. */
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
            'kafka send failed; retrying the batch (callers wait once the queue is full)',
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
    const byTopic = new Map<string, number>();
    for (const e of batch) {
      s.queuedMessages--;
      s.queuedBytes -= e.bytes;
      byTopic.set(e.record.topic, (byTopic.get(e.record.topic) ?? 0) + 1);
    }
    for (const [topic, n] of byTopic) this.metrics.produced(topic, n);
    this.admit();
  }

  private fail(err: unknown, log: boolean): void {
    if (this.failure) return;
    this.failure =
      err instanceof ProducerError
        ? err
        : new ProducerError(
            'SEND_FAILED',
            `producing to kafka failed and cannot be retried: ${(err as Error)?.message ?? String(err)}`,
            { cause: err },
          );
    if (log) this.log.error('kafka producer failed', { error: this.failure });
    clearTimeout(this.linger);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
    for (const r of this.idle.splice(0)) r();
  }

  private undelivered(timeoutMs: number): ProducerError {
    return new ProducerError(
      'UNDELIVERED',
      `${this.s.queuedMessages} accepted records were not acknowledged by kafka within ${timeoutMs} ms; they are lost unless the caller can send them again (check that the brokers are up)`,
    );
  }
}

function sizeOf(r: OutgoingRecord): number {
  let n = r.value.length + (r.key?.length ?? 0) + 16;
  for (const [k, v] of Object.entries(r.headers ?? {})) n += k.length + v.length;
  return n;
}

/**
 * kafkajs errors say whether retrying can help; "retries exceeded" wraps the real cause,
 * and so does the "non-retriable" error kafkajs throws when its own retries of a request
 * gave up (a broker refusing connections while it is down, its coordinators moving): the
 * cause decides.
 */
function isRetriable(err: unknown): boolean {
  const e = err as { retriable?: boolean; name?: string; cause?: unknown; errors?: unknown[] };
  if (!e || typeof e !== 'object') return false;
  if (Array.isArray(e.errors) && e.errors.length) return e.errors.every(isRetriable);
  if (e.name === 'KafkaJSNumberOfRetriesExceeded') return e.cause ? isRetriable(e.cause) : true;
  if (e.name === 'KafkaJSNonRetriableError' && e.cause) return isRetriable(e.cause);
  return e.retriable === true;
}

/** The kafkajs sender: idempotent producer, acks=all, one request in flight (keeps order per partition). */
export function kafkaBatchSender(kafka: Kafka): BatchSender {
  // A few quick retries inside kafkajs; the keyed producer's own loop retries beyond
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
