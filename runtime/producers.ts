/**
 * How a task's results leave it. Under exactly-once one transactional producer per
 * instance commits every task's outputs, changelog records and offsets together, fenced
 * by the consumer group's generation (KIP-447). Under at-least-once one idempotent
 * producer serves all tasks and offsets are committed through the consumer after the
 * sends are acknowledged.
 */
import type { ConsumedOffset, OutputRecord } from './task/types.js';
import type { Kafka, Message, Producer, RecordMetadata, TopicMessages, Transaction } from 'kafkajs';
import { MillraceError, TaskMigratedError } from './errors.js';
import { hasErrorType, isRetriable } from './retry.js';

/** A record to produce (outputs, changelog records with an explicit partition, dead letters). */
export type OutgoingRecord = OutputRecord;

/** Next offset to consume, per input partition (Kafka's committed-offset convention). */
export type OffsetToCommit = ConsumedOffset;

/** Offset of the last record written per `topic:partition`, for checkpoints. */
export type WrittenOffsets = Map<string, number>;

const FENCED = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TXN_STATE',
]);

export function isFencedError(err: unknown): boolean {
  return hasErrorType(err, FENCED);
}

export function toTopicMessages(records: readonly OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  let topic: string | undefined;
  let list: Message[] | undefined;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    // Records come in runs of one topic.
    if (r.topic !== topic) {
      topic = r.topic;
      list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
    }
    list!.push(r as unknown as Message);
  }
  return [...byTopic].map(([t, messages]) => ({ topic: t, messages }));
}

export function writtenOffsets(
  records: readonly OutgoingRecord[],
  metadata: RecordMetadata[],
): WrittenOffsets {
  // A send returns each partition's base offset; the last record sits count − 1 after it.
  // Records with a partition come in runs (a store's changelog records): count by run.
  const counts = new Map<string, number>();
  let topic: string | undefined;
  let partition: number | undefined;
  let run = 0;
  const endRun = () => {
    if (run) counts.set(`${topic}:${partition}`, (counts.get(`${topic}:${partition}`) ?? 0) + run);
  };
  for (const r of records) {
    if (r.partition === undefined) continue;
    if (r.topic === topic && r.partition === partition) {
      run++;
      continue;
    }
    endRun();
    topic = r.topic;
    partition = r.partition;
    run = 1;
  }
  endRun();
  const out: WrittenOffsets = new Map();
  for (const m of metadata) {
    const key = `${m.topicName}:${m.partition}`;
    const n = counts.get(key);
    if (n && m.baseOffset !== undefined) out.set(key, Number(m.baseOffset) + n - 1);
  }
  return out;
}

/**
 * Records split into produce requests the broker takes. A request holds one record batch
 * per partition, and each batch must stay under the broker's `message.max.bytes` (1 MiB by
 * default); the request as a whole may be larger. Records with an explicit partition (a
 * store's changelog) are counted per partition; the others, which the client partitions
 * by key, per topic, as if they all went to one partition. Each such share stays under
 * `maxBatchBytes`, and a request under `maxRequestBytes`.
 */
export function chunks(
  records: readonly OutgoingRecord[],
  maxBatchBytes = 512 * 1024,
  maxRequestBytes = 8 << 20,
): OutgoingRecord[][] {
  const out: OutgoingRecord[][] = [];
  let cur: OutgoingRecord[] = [];
  let size = 0;
  let shares = new Map<string, number>();
  // Records come in runs of one topic and partition: a share's key is spelled once per run.
  let share = '';
  let shareTopic: string | undefined;
  let sharePartition: number | undefined = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const n = recordBytes(r);
    if (r.topic !== shareTopic || r.partition !== sharePartition) {
      shareTopic = r.topic;
      sharePartition = r.partition;
      share = r.partition === undefined ? r.topic : `${r.topic}\u0000${r.partition}`;
    }
    const inShare = shares.get(share) ?? 0;
    if (cur.length && (inShare + n > maxBatchBytes || size + n > maxRequestBytes)) {
      out.push(cur);
      cur = [];
      size = 0;
      shares = new Map();
    }
    cur.push(r);
    size += n;
    shares.set(share, (shares.get(share) ?? 0) + n);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** A record's size on the wire, roughly: key, value, headers and the framing around them. */
function recordBytes(r: OutgoingRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0) + 80;
  const h = r.headers;
  if (h)
    for (const k in h) {
      const v = h[k];
      n += k.length + (v?.length ?? 0) + 8;
    }
  return n;
}

/** Sends in chunks; `partitions`, when given, collects every partition written. */
async function sendChunked(
  send: (messages: TopicMessages[]) => Promise<RecordMetadata[]>,
  records: readonly OutgoingRecord[],
  partitions?: Map<string, TopicPartition>,
): Promise<WrittenOffsets> {
  const written: WrittenOffsets = new Map();
  for (const chunk of chunks(records)) {
    const metadata = await send(toTopicMessages(chunk));
    for (const [k, v] of writtenOffsets(chunk, metadata))
      written.set(k, Math.max(written.get(k) ?? -1, v));
    if (partitions)
      for (const m of metadata)
        partitions.set(`${m.topicName}:${m.partition}`, {
          topic: m.topicName,
          partition: m.partition,
        });
  }
  return written;
}

interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * kafkajs's transaction with millrace's patch (patches/kafkajs+2.2.4.patch): partitions
 * and a group's offsets can join it ahead of the records and offsets.
 */
interface JoinableTransaction extends Transaction {
  addPartitions(
    topicData: Array<{ topic: string; partitions: Array<{ partition: number }> }>,
  ): Promise<void>;
  addOffsets(o: { consumerGroupId: string }): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a request that joins something to a transaction, again every 10 ms while the
 * coordinator answers CONCURRENT_TRANSACTIONS (the previous transaction's markers are
 * still being written), for up to a second.
 */
async function joinWhenFree(join: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await join();
    } catch (err) {
      if (attempt >= 100 || (err as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS')
        throw err;
      await sleep(10);
    }
  }
}

function offsetsPayload(groupId: string, offsets: readonly OffsetToCommit[]) {
  const byTopic = new Map<
    string,
    Array<{ partition: number; offset: string; metadata: string | null }>
  >();
  for (const o of offsets) {
    let list = byTopic.get(o.topic);
    if (!list) byTopic.set(o.topic, (list = []));
    // kafkajs passes `metadata` through to TxnOffsetCommit as is.
    list.push({ partition: o.partition, offset: String(o.offset), metadata: o.metadata ?? null });
  }
  return {
    consumerGroupId: groupId,
    topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
  };
}

/** The consumer's membership, sent with the offsets so the coordinator can refuse a zombie (KIP-447). */
export interface GroupMetadata {
  generationId: number;
  memberId: string;
}

/** Errors of TxnOffsetCommit that mean this member no longer owns its partitions. */
const MIGRATED = new Set([
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
  'REBALANCE_IN_PROGRESS',
]);

function isMigratedError(err: unknown): boolean {
  return hasErrorType(err, MIGRATED);
}

/** What one task hands to the instance's next transaction. */
interface Pending {
  taskId: string;
  records: readonly OutgoingRecord[];
  offsets: readonly OffsetToCommit[];
  resolve(written: WrittenOffsets): void;
  reject(err: unknown): void;
}

/** A transaction begun ahead of its commit, and the records already sent into it. */
interface Ahead {
  txn: Promise<JoinableTransaction>;
  /** Its partitions and the group's offsets joined (AddPartitionsToTxn, AddOffsetsToTxn). */
  joined: Promise<void>;
  /** The sends ahead of the commit, one after another; rejected if one failed. */
  sends: Promise<void>;
  /** Every partition those sends wrote. */
  partitions: Map<string, TopicPartition>;
}

export interface InstanceProducerOptions {
  /** The broker aborts a transaction open longer than this (and fences its producer). */
  transactionTimeoutMs: number;
  /** Begin each transaction ahead of its commit (see prepare). */
  eager: boolean;
}

/**
 * The instance's transactional producer under exactly-once: every task's outputs,
 * changelog records and consumer offsets since the last commit go in ONE transaction
 * (Kafka Streams' exactly_once_v2). A zombie is fenced by the group coordinator, not by
 * the transactional id: the offsets carry the consumer's generation and member id
 * (TxnOffsetCommit v3, KIP-447, added to kafkajs by millrace's patch), so an instance that
 * lost its partitions cannot commit their offsets, and its transaction is aborted with
 * everything in it. The transactional id is the instance's own and stable across its
 * restarts (`<applicationId>-<process id>`), so a restarted instance aborts what its
 * crashed predecessor left open at once.
 *
 * Tasks hand their part with `committer(task).commit(…)`; nothing is sent until `flush()`,
 * so that a commit of every task is one transaction. Transactions run one after another.
 */
export class InstanceTransactionalProducer {
  private producer: Producer;
  /** The producer was fenced (its epoch bumped): it is replaced before the next transaction. */
  private broken = false;
  private queued: Pending[] = [];
  /** The next transaction, begun ahead of its commit (see prepare), and what was sent into it. */
  private next: Ahead | undefined;
  /** Partitions the last transaction wrote: the next one most likely writes them too. */
  private lastPartitions = new Map<string, TopicPartition>();
  /** The transaction in flight and those queued behind it (settled when there is none). */
  private tail: Promise<unknown> = Promise.resolve();
  /** A transaction failed: commits are refused until the thread rebuilds its tasks (see fail). */
  private failedWith: { err: unknown; what: string } | undefined;

  constructor(
    private readonly kafka: Kafka,
    readonly transactionalId: string,
    private readonly groupId: string,
    private readonly groupMetadata: () => GroupMetadata | undefined,
    private readonly opts: InstanceProducerOptions,
  ) {
    this.producer = this.create();
  }

  private create(): Producer {
    return this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.opts.transactionTimeoutMs,
      // A transaction that begins while the previous one's markers are still being written
      // is answered CONCURRENT_TRANSACTIONS on its first AddPartitionsToTxn; retried after
      // 20 ms, not the client's 100 ms (as Kafka's Java producer does), that wait stays off
      // the tail of commit latency. Eight retries back off about as long in all (≈ 5 s) as
      // the client's five from 100 ms.
      retry: { retries: 8, initialRetryTime: 20, maxRetryTime: 3000 },
    });
  }

  /**
   * Connects and claims the transactional id: completes or aborts what an earlier
   * producer with this id (this instance before a crash) left open. Call before tasks
   * read their committed offsets or restore their state.
   */
  async init(): Promise<void> {
    try {
      await this.producer.connect();
      const txn = await this.producer.transaction();
      await txn.abort();
    } catch (err) {
      // A producer left half-way (its transaction begun, the abort not answered) is not
      // reused: the next attempt starts from a new one.
      await this.producer.disconnect().catch(() => {});
      this.producer = this.create();
      const retriable = isRetriable(err);
      throw new MillraceError(
        `could not claim the transactional id ${this.transactionalId}: ${(err as Error).message}`,
        {
          code: retriable ? 'KAFKA_UNREACHABLE' : 'COMMIT_FAILED',
          domain: 'external',
          retriable,
          cause: err,
        },
      );
    }
  }

  /** How a task commits through this producer. */
  committer(taskId: string): {
    commit(r: readonly OutgoingRecord[], o: readonly OffsetToCommit[]): Promise<WrittenOffsets>;
    flush(): void;
    prepare(): void;
    sendAhead(r: readonly OutgoingRecord[]): boolean;
    close(): Promise<void>;
  } {
    return {
      commit: (records, offsets) =>
        new Promise<WrittenOffsets>((resolve, reject) =>
          this.queued.push({ taskId, records, offsets, resolve, reject }),
        ),
      flush: () => this.flush(),
      prepare: () => this.prepare(),
      sendAhead: (records) => this.sendAhead(records),
      close: async () => {},
    };
  }

  /** True when a transaction is begun ahead of its commit, so records can go into it now. */
  get canSendAhead(): boolean {
    return this.next !== undefined;
  }

  /**
   * Sends records into the transaction begun ahead of its commit (see prepare), before
   * the commit: what the tasks produced so far, while they process on. The commit then
   * sends only the rest, its offsets and the end, and the records' memory is freed
   * sooner. They stay invisible to read_committed readers until that commit; if a send
   * fails, the commit fails and the transaction is aborted. Every task whose records go
   * ahead must commit in that transaction (the thread commits all tasks together). Returns
   * false, sending nothing, when no transaction is begun ahead.
   */
  sendAhead(records: readonly OutgoingRecord[]): boolean {
    const n = this.next;
    if (!n) return false;
    if (!records.length) return true;
    n.sends = n.sends.then(async () => {
      const txn = await n.txn;
      await n.joined.catch(() => {});
      await sendChunked(
        (topicMessages) => txn.sendBatch({ topicMessages, acks: -1 }),
        records,
        n.partitions,
      );
    });
    n.sends.catch(() => {});
    return true;
  }

  /**
   * The thread closes every task without committing: aborts the transaction begun ahead
   * and what was sent into it (none of it may be committed later by another task's
   * commit). Once the transactions flushed before this have ended, commits are taken again
   * (see fail: a failed transaction refuses them until then).
   */
  discardAhead(): void {
    this.abortAhead();
    const tail = this.tail;
    this.tail = tail.then(() => {
      this.failedWith = undefined;
    });
  }

  private abortAhead(): void {
    const n = this.next;
    if (!n) return;
    this.next = undefined;
    this.tail = this.tail.then(() => this.abort(n));
  }

  /** Aborts a transaction begun ahead, after the sends into it. */
  private async abort(n: Ahead): Promise<void> {
    try {
      const txn = await n.txn;
      await n.sends.catch(() => {});
      if (txn.isActive()) await txn.abort();
    } catch {
      // An abort that failed leaves the client's transaction half ended: a new producer.
      this.broken = true;
    }
  }

  /**
   * Begins the next transaction now, after the one in flight if there is one, and joins
   * to it the partitions the last transaction wrote (AddPartitionsToTxn) and the group's
   * offsets (AddOffsetsToTxn): those round trips then happen while the tasks process,
   * not when they commit. Called when a task has new work since the last commit, so an
   * idle instance holds no transaction open towards the transaction timeout. A join that
   * fails is done again, as kafkajs always does, when the records and offsets are sent.
   */
  prepare(): void {
    if (this.next || !this.opts.eager || this.failedWith) return;
    const txn = this.tail.then(() => this.begin());
    const joined = txn.then(async (t) => {
      const topics = groupByTopic([...this.lastPartitions.values()]);
      if (topics.length) await joinWhenFree(() => t.addPartitions(topics));
      await joinWhenFree(() => t.addOffsets({ consumerGroupId: this.groupId }));
    });
    txn.catch(() => {});
    joined.catch(() => {});
    this.next = { txn, joined, sends: Promise.resolve(), partitions: new Map() };
  }

  /** Sends what the tasks handed over since the last flush, as one transaction. */
  flush(): void {
    if (!this.queued.length) return;
    const batch = this.queued;
    this.queued = [];
    // The transaction begun ahead (if any) is this send's: taken now, because one begun
    // after this call is chained behind this send and would wait for it forever.
    const next = this.next;
    this.next = undefined;
    const sent = this.tail.then(() => this.send(batch, next));
    this.tail = sent.catch(() => {});
  }

  /** Settles when every transaction flushed so far has ended (whatever its outcome). */
  async settled(): Promise<void> {
    await this.tail;
  }

  private async begin(): Promise<JoinableTransaction> {
    if (this.broken) {
      await this.producer.disconnect().catch(() => {});
      this.producer = this.create();
      this.broken = false;
      await this.init();
    }
    return (await this.producer.transaction()) as JoinableTransaction;
  }

  private async send(batch: Pending[], next: InstanceTransactionalProducer['next']): Promise<void> {
    const records = batch.length === 1 ? batch[0]!.records : batch.flatMap((p) => p.records);
    const offsets = batch.flatMap((p) => p.offsets);
    if (this.failedWith) {
      if (next) await this.abort(next);
      return this.fail(batch, this.failedWith.err, this.failedWith.what);
    }
    let txn: JoinableTransaction;
    try {
      if (next) {
        await next.joined.catch(() => {});
        txn = await next.txn;
      } else txn = await this.begin();
    } catch (err) {
      return this.fail(batch, err, 'begin a transaction');
    }
    try {
      // What was sent ahead into this transaction first: if any of it failed, so does this.
      if (next) await next.sends;
      const partitions = next?.partitions ?? new Map<string, TopicPartition>();
      const written = await sendChunked(
        (topicMessages) => txn.sendBatch({ topicMessages, acks: -1 }),
        records,
        partitions,
      );
      if (offsets.length) {
        // The group's offsets join the transaction first, when the broker is free to take
        // them: an AddOffsetsToTxn sent while the previous transaction's end is still being
        // written is answered CONCURRENT_TRANSACTIONS, which kafkajs does not retry there
        // (bench:engine's stateless exactly-once case failed on it). Done ahead by prepare(),
        // this is then a no-op.
        await joinWhenFree(() => txn.addOffsets({ consumerGroupId: this.groupId }));
        const groupMetadata = this.groupMetadata();
        await txn.sendOffsets({
          ...offsetsPayload(this.groupId, offsets),
          ...(groupMetadata ? { groupMetadata } : {}),
        });
      }
      await txn.commit();
      this.lastPartitions = partitions;
      for (const p of batch) p.resolve(written);
    } catch (err) {
      if (txn.isActive()) await txn.abort().catch(() => {});
      this.fail(batch, err, 'commit');
    }
  }

  /**
   * After any failed transaction the producer is replaced before the next one: its
   * InitProducerId bumps the epoch, which ends whatever the failed transaction left open
   * (an abort that could not reach the coordinator) and starts every partition's sequence
   * numbers afresh, so no record of the next transaction can be taken by the broker for a
   * duplicate of a batch the failed one wrote (KIP-360).
   */
  private fail(batch: Pending[], err: unknown, what: string): void {
    this.broken = true;
    for (const p of batch) p.reject(this.wrap(err, p.taskId, what));
    // The transaction begun ahead holds outputs the failed tasks sent ahead of their next
    // commit: another task's commit must not carry them (they would be committed while
    // their offsets and state are rolled back, and produced again by the rebuilt task).
    // It is aborted now, and every commit flushed until the thread has rebuilt its tasks
    // (discardAhead) fails with this one: under exactly-once all of them are rebuilt.
    this.failedWith ??= { err, what };
    this.abortAhead();
  }

  async close(): Promise<void> {
    this.discardAhead();
    await this.tail;
    await this.producer.disconnect().catch(() => {});
  }

  private wrap(err: unknown, taskId: string, what: string): Error {
    if (isFencedError(err) || isMigratedError(err)) return new TaskMigratedError(taskId, err);
    return new MillraceError(`task ${taskId} could not ${what}: ${(err as Error).message}`, {
      code: 'COMMIT_FAILED',
      domain: 'external',
      retriable: true,
      cause: err,
      at: { task: taskId },
    });
  }
}

/**
 * The at-least-once producer shared by all tasks of an instance (idempotent, acks=all).
 * The client sends one batch of an idempotent producer at a time (see the kafkajs patch's
 * sendMessages), so the records of tasks that commit while a send is in flight are
 * gathered and go out together in the next one.
 */
export class SharedProducer {
  private readonly producer: Producer;
  private waiting: Array<{
    records: readonly OutgoingRecord[];
    resolve(w: WrittenOffsets): void;
    reject(e: unknown): void;
  }> = [];
  private inFlight = false;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** Resolves with the last offset written per partition of the send it went out in. */
  send(records: readonly OutgoingRecord[]): Promise<WrittenOffsets> {
    if (!records.length) return Promise.resolve(new Map());
    const done = new Promise<WrittenOffsets>((resolve, reject) =>
      this.waiting.push({ records, resolve, reject }),
    );
    if (!this.inFlight) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    while (this.waiting.length) {
      const group = this.waiting;
      this.waiting = [];
      const records = group.length === 1 ? group[0]!.records : group.flatMap((g) => g.records);
      try {
        const written = await sendChunked(
          (topicMessages) => this.producer.sendBatch({ topicMessages, acks: -1 }),
          records,
        );
        for (const g of group) g.resolve(written);
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.inFlight = false;
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}

function groupByTopic(
  parts: readonly TopicPartition[],
): Array<{ topic: string; partitions: Array<{ partition: number }> }> {
  const m = new Map<string, Array<{ partition: number }>>();
  for (const p of parts) {
    let list = m.get(p.topic);
    if (!list) m.set(p.topic, (list = []));
    list.push({ partition: p.partition });
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}
