/**
 * The count-by-key app (test/support/count-worker.ts) as a fleet of processes, fed by a
 * producer that keeps writing while faults happen, and checked against its input topic.
 *
 * The oracle is the input topic as it is, read back after the feed stopped: a producer
 * retry may have written a batch twice, and each input record must be counted (once,
 * under exactly-once). Separately, every record the producer saw acknowledged must be in
 * the topic (an acknowledged record is never lost, docs/guarantees.md).
 */
import type { Kafka, Producer } from 'kafkajs';
import { readUntil, recordsIn, settled, valuesByKey, type ReadRecord } from './topic-read.js';
import { startChild, type Child } from '../../harness/processes.js';

export type Guarantee = 'exactly_once' | 'at_least_once';

/**
 * Writes `perTick` records every `tickMs` (keys k0…k<keys-1>, values `v<n>` unique) with
 * an idempotent producer, acks=all, one request in flight. A failed send is logged and
 * sent again (the same values) by a new producer, so the feed rides out a broker loss:
 * after a send that failed across a leader move, kafkajs's idempotent producer can answer
 * every later send with OUT_OF_ORDER_SEQUENCE_NUMBER (see /work/wt/FINDINGS.md), and a
 * new producer id starts its sequences afresh.
 */
export class KeyedFeeder {
  /** Values the broker acknowledged. */
  readonly acked: string[] = [];
  failedSends = 0;
  private seq = 0;
  private running = false;
  private loop?: Promise<void>;
  private producer?: Producer;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    private readonly o: {
      keys?: number;
      perTick?: number;
      tickMs?: number;
      log?: boolean;
      /**
       * Records per second, held on average: each send carries what is due since the start
       * (at most 5,000), so slow sends are caught up. Overrides `perTick`.
       */
      rate?: number;
      /** The n-th record's key and value (default `k<…>` over `keys` keys, `v<n>`). */
      key?: (n: number) => string;
      value?: (n: number) => string;
    } = {},
  ) {}

  async start(): Promise<void> {
    await this.connect();
    this.running = true;
    this.loop = this.run();
  }

  private async connect(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  private async run(): Promise<void> {
    const keys = this.o.keys ?? 40;
    const started = Date.now();
    while (this.running) {
      const t0 = Date.now();
      const perTick = this.o.rate
        ? Math.min(5000, Math.max(1, Math.floor((this.o.rate * (t0 - started)) / 1000) - this.seq))
        : (this.o.perTick ?? 50);
      const batch = Array.from({ length: perTick }, () => {
        const n = this.seq++;
        return {
          key: this.o.key?.(n) ?? `k${(n * 7919) % keys}`,
          value: this.o.value?.(n) ?? `v${n}`,
        };
      });
      await this.sendUntilAcked(batch);
      const wait = (this.o.tickMs ?? 100) - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async sendUntilAcked(batch: Array<{ key: string; value: string }>): Promise<void> {
    for (;;) {
      try {
        await this.producer!.send({ topic: this.topic, acks: -1, messages: batch });
        for (const m of batch) this.acked.push(m.value);
        return;
      } catch (err) {
        this.failedSends++;
        if (this.o.log !== false)
          console.warn(
            `feeder ${this.topic}: send failed, again with a new producer: ${(err as Error).message}`,
          );
        await this.producer!.disconnect().catch(() => {});
        await new Promise((r) => setTimeout(r, 500));
        await this.connect().catch(() => {});
      }
    }
  }

  /** Stops after the batch in flight is acknowledged. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.producer?.disconnect().catch(() => {});
  }
}

/** Every record of `topic` (read_committed). */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 180_000) {
  const total = await recordsIn(kafka, topic);
  return readUntil(kafka, topic, (got) => got.length >= total, timeoutMs);
}

/** What a count app must have produced: per key, how many input records it has. */
export interface CountOracle {
  counts: Map<string, number>;
  inputRecords: number;
  /** Acknowledged values missing from the input topic (must be none). */
  ackedMissing: string[];
}

export async function countOracle(
  kafka: Kafka,
  input: string,
  acked: readonly string[],
): Promise<CountOracle> {
  const records = await readTopic(kafka, input);
  const counts = new Map<string, number>();
  const values = new Set<string>();
  for (const r of records) {
    counts.set(r.key!, (counts.get(r.key!) ?? 0) + 1);
    values.add(r.value!);
  }
  return {
    counts,
    inputRecords: records.length,
    ackedMissing: acked.filter((v) => !values.has(v)),
  };
}

/** How the output of a count app compares with the oracle. */
export interface CountVerdict {
  /** Counts (key, n) the oracle has and the output never showed. */
  lost: string[];
  /** Outputs beyond the one expected per count (at-least-once replays show here). */
  duplicated: number;
  /** Under exactly-once: keys whose sequence is not exactly 1, 2, … n. */
  wrongSequences: string[];
  /** For the first few wrong sequences: where they go wrong and the outputs around it. */
  examples: string[];
  outputRecords: number;
}

/**
 * Reads `output` until it holds at least one record per input record and then nothing more
 * came for 2 s (or the time is up), and compares: each count 1…n must be there; under
 * exactly-once exactly once and in order.
 */
export async function verifyCounts(
  kafka: Kafka,
  output: string,
  oracle: CountOracle,
  timeoutMs = 180_000,
): Promise<CountVerdict> {
  let out: ReadRecord[] = [];
  const expected = [...oracle.counts.values()].reduce((a, b) => a + b, 0);
  const done = settled(expected);
  try {
    await readUntil(kafka, output, (got) => ((out = got), done(got)), timeoutMs);
  } catch {
    /* judged below on what arrived */
  }
  const seqs = valuesByKey(out);
  const verdict: CountVerdict = {
    lost: [],
    duplicated: 0,
    wrongSequences: [],
    examples: [],
    outputRecords: out.length,
  };
  for (const [k, n] of oracle.counts) {
    const seq = (seqs.get(k) ?? []).map(Number);
    const seen = new Set(seq);
    for (let c = 1; c <= n; c++) if (!seen.has(c)) verdict.lost.push(`${k}=${c}`);
    verdict.duplicated += seq.length - seen.size;
    if (seq.length !== n || seq.some((v, i) => v !== i + 1)) {
      verdict.wrongSequences.push(k);
      const at = Math.max(
        0,
        seq.findIndex((v, i) => v !== i + 1),
      );
      if (verdict.examples.length < 3)
        verdict.examples.push(
          `${k}: ${seq.length} outputs for ${n} inputs, wrong from #${at}: …${seq.slice(Math.max(0, at - 3), at + 6)}…`,
        );
    }
  }
  return verdict;
}

/** One count app: its ids, topics and instances. */
export class CountApp {
  readonly instances: Child[] = [];

  constructor(
    readonly appId: string,
    readonly input: string,
    readonly output: string,
    readonly guarantee: Guarantee,
    private readonly brokers: () => string[],
    private readonly stateRoot: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Starts an instance with state in `<stateRoot>/<appId>/<name>`. */
  start(name: string): Child {
    const c = startChild(`${this.appId}-${name}`, 'test/support/count-worker.ts', [], {
      APP: this.appId,
      INPUT: this.input,
      OUTPUT: this.output,
      STATE_DIR: `${this.stateRoot}/${this.appId}/${name}`,
      GUARANTEE: this.guarantee,
      BROKERS: this.brokers().join(','),
      LOG_LEVEL: 'info',
      ...this.env,
    });
    this.instances.push(c);
    return c;
  }

  /** Instances still running. */
  live(): Child[] {
    return this.instances.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
  }

  /** Tasks running on each live instance, per its latest report. */
  runningTasks(): string[][] {
    return this.live().map(tasksOf);
  }

  /** True when the live instances run `tasks` tasks between them, each on one instance. */
  allRunning(tasks: number, onEach = true): boolean {
    const per = this.runningTasks();
    const all = per.flat();
    return (
      all.length === tasks && new Set(all).size === tasks && (!onEach || per.every((t) => t.length))
    );
  }

  /** Instances that reported a failure (an instance must never stop on a broker fault). */
  failures(): string[] {
    return this.instances.flatMap((c) =>
      c.lines
        .filter((l) => l.event === 'failed')
        .map((l) => `${c.name} (pid ${c.pid}): ${String(l.error)}`),
    );
  }

  /** The last few structured lines and stderr of each instance (for a failure message). */
  describe(): string {
    return this.instances
      .map(
        (c) =>
          `--- ${c.name} pid ${c.pid} exit ${c.proc.exitCode ?? c.proc.signalCode ?? 'running'}: ` +
          `${JSON.stringify(c.lines.filter((l) => l.event).slice(-2))}\n${c.stderr.join('').slice(-1500)}`,
      )
      .join('\n');
  }
}

export function tasksOf(c: Child): string[] {
  const last = [...c.lines].reverse().find((l) => l.event === 'tasks');
  return (last?.tasks as string[] | undefined) ?? [];
}

/** Polls `cond` every 200 ms; fails after `timeoutMs` with `detail()`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 90_000,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
