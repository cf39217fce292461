/**
 * A real `millrace run` process for observability tests: a word-count topology (the
 * shape of examples/topologies/word-count.yaml, on topics of the test's own run id)
 * with its metrics server on a free port, and a feeder that keeps records flowing into
 * its source topic and counts what Kafka acknowledged. Stopped by pid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { createKafka } from '../../connectors/kafka/client.js';
import { createTopics, deleteTopicsWithPrefix } from './kafka-helpers.js';
import { freePort } from '../../harness/ports.js';
import { startChild, type Child } from '../../harness/processes.js';

export { freePort };

export interface ObservedInstance {
  /** Also the application id and the prefix of every topic. */
  run: string;
  /** e.g. http://127.0.0.1:40123 (serves /metrics, /topology …). */
  url: string;
  port: number;
  input: string;
  output: string;
  partitions: number;
  child: Child;
  feeder: Feeder;
  kafka: Kafka;
  /**
   * Starts one more member of the same app (its own state directory) with its metrics
   * server on `metricsPort` (0: any); resolves with its base URL once it has started.
   */
  addMember(metricsPort?: number): Promise<{ url: string; child: Child }>;
  /** SIGTERM to every member (SIGKILL after 15 s), then deletes the topics and the state. */
  stop(): Promise<void>;
}

function topologyYaml(run: string): string {
  return `name: ${run}
stores:
  - { name: counts, kind: keyValue, keySerde: string, valueSerde: int64 }
nodes:
  - { source: words, topics: [${run}-words], keySerde: string, valueSerde: json }
  - { processor: count, type: count, parents: [words], options: { store: counts }, stores: [counts] }
  - { sink: out, topic: ${run}-counts, parents: [count], keySerde: string, valueSerde: json }
`;
}

export async function startObservedInstance(
  brokers: string[],
  opts: { prefix: string; partitions?: number; guarantee?: 'exactly_once' | 'at_least_once' },
): Promise<ObservedInstance> {
  const run = `${opts.prefix}-${randomUUID().slice(0, 8)}`;
  const partitions = opts.partitions ?? 2;
  const kafka = createKafka({ brokers, clientId: run });
  const input = `${run}-words`;
  const output = `${run}-counts`;
  await createTopics(kafka, [
    { topic: input, partitions },
    { topic: output, partitions },
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.prefix}-`));
  const file = path.join(dir, 'topology.yaml');
  fs.writeFileSync(file, topologyYaml(run));
  const members: Child[] = [];
  const startMember = async (metricsPort: number) => {
    const n = members.length;
    const child = startChild(`${run}#${n}`, 'bin/millrace.js', [
      'run',
      file,
      '--app-id',
      run,
      '--brokers',
      brokers.join(','),
      '--guarantee',
      opts.guarantee ?? 'exactly_once',
      '--state-dir',
      path.join(dir, `state-${n}`),
      '--metrics-port',
      String(metricsPort),
    ]);
    members.push(child);
    const started = await child.waitFor((l) => l.event === 'started', 90_000);
    return { url: new URL(String(started.metrics)).origin, child };
  };
  const { url, child } = await startMember(0);
  const feeder = await Feeder.start(kafka, input);
  const stop = async () => {
    await feeder.stop();
    for (const m of members) m.signal('SIGTERM');
    const killer = setTimeout(() => members.forEach((m) => m.signal('SIGKILL')), 15_000);
    await Promise.all(members.map((m) => m.exited));
    clearTimeout(killer);
    await deleteTopicsWithPrefix(kafka, run);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return {
    run,
    url,
    port: Number(new URL(url).port),
    input,
    output,
    partitions,
    child,
    feeder,
    kafka,
    addMember: (metricsPort = 0) => startMember(metricsPort),
    stop,
  };
}

/**
 * Sends `perTick` JSON records every `tickMs` (keys w0…w9) while running; counts
 * acknowledged ones. `poison(n)` sends records that are not JSON (they go to the
 * dead-letter topic `<run>-dlq`).
 */
export class Feeder {
  acked = 0;
  poisoned = 0;
  private timer?: NodeJS.Timeout;
  private sending = Promise.resolve();

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  static async start(kafka: Kafka, topic: string): Promise<Feeder> {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return new Feeder(producer, topic);
  }

  /** Starts (or restarts) the flow. */
  resume(perTick = 20, tickMs = 100): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sending = this.sending.then(() => this.send(perTick));
    }, tickMs);
  }

  private async send(n: number): Promise<void> {
    const base = this.acked;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `w${(base + i) % 10}`,
        value: JSON.stringify(`v${base + i}`),
      })),
    });
    this.acked += n;
  }

  /** Sends `n` records whose value is not JSON (counted in `acked` and `poisoned`). */
  async poison(n: number): Promise<void> {
    this.sending = this.sending.then(async () => {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({ key: `w${i % 10}`, value: '{not json' })),
      });
      this.acked += n;
      this.poisoned += n;
    });
    await this.sending;
  }

  /** Stops the flow; resolves when every record sent so far is acknowledged. */
  async pause(): Promise<number> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sending;
    return this.acked;
  }

  async stop(): Promise<void> {
    await this.pause().catch(() => {});
    await this.producer.disconnect().catch(() => {});
  }
}
