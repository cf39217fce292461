/**
 * The outside probe of `bench:compare`: watches a consumer group from a separate admin
 * client, as an operator would, every `everyMs`: its committed offsets on the input topic
 * (under exactly-once only committed transactions' offsets are visible) and, until it is
 * complete, its membership. The same probe times millrace and Kafka Streams.
 */
import type { Admin } from 'kafkajs';
import { probeWindow, type ProbeSample, type ProbeWindow } from './compare.js';

export interface ProbeOptions {
  groupId: string;
  topic: string;
  /** End offset per partition of the input. */
  ends: Map<number, number>;
  /** Consumers the complete group has (instances, or stream threads). */
  members: number;
  everyMs?: number;
  /** Gives up after this long (ms). */
  timeoutMs?: number;
  /** Called at the sample that starts the measured window (see probeWindow). */
  onWindowStart?: () => void;
}

export class CommitProbe {
  readonly samples: ProbeSample[] = [];
  private stopped = false;
  private readonly total: number;

  constructor(
    private readonly admin: Admin,
    private readonly o: ProbeOptions,
  ) {
    this.total = [...o.ends.values()].reduce((a, b) => a + b, 0);
  }

  /** Stops polling (e.g. when a process under test failed). */
  stop(): void {
    this.stopped = true;
  }

  /** Polls until the committed offsets reach the input's end; resolves with the window. */
  async run(): Promise<ProbeWindow> {
    const every = this.o.everyMs ?? 10;
    const deadline = performance.now() + (this.o.timeoutMs ?? 900_000);
    let complete = false;
    let started = false;
    let last: Map<number, number> = new Map();
    const done = () => [...this.o.ends].every(([p, end]) => (last.get(p) ?? -1) >= end);
    while (!this.stopped) {
      if (performance.now() > deadline)
        throw new Error(`${this.o.groupId}: committed offsets did not reach the input's end`);
      const t0 = performance.now();
      const [offsets, group] = await Promise.all([
        this.committed(),
        complete ? undefined : this.group(),
      ]);
      const t = (t0 + performance.now()) / 2;
      last = offsets;
      let committed = 0;
      for (const v of offsets.values()) committed += Math.max(0, v);
      const sample: ProbeSample = {
        t,
        committed,
        members: group?.members ?? this.o.members,
        state: group?.state ?? 'Stable',
      };
      const previous = this.samples[this.samples.length - 1];
      if (complete && !started && previous && committed > previous.committed) {
        started = true;
        this.o.onWindowStart?.();
      }
      if (!complete && sample.members >= this.o.members && sample.state === 'Stable')
        complete = true;
      this.samples.push(sample);
      if (done()) {
        const w = probeWindow(this.samples, this.o.members, this.total, (s) => s === sample);
        if (w) return w;
        throw new Error(
          `${this.o.groupId}: the input was all committed before the probe saw a commit of the complete group (${this.samples.length} samples)`,
        );
      }
      const wait = every - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    throw new Error(`${this.o.groupId}: probe stopped`);
  }

  private async committed(): Promise<Map<number, number>> {
    const r = await this.admin.fetchOffsets({ groupId: this.o.groupId, topics: [this.o.topic] });
    const out = new Map<number, number>();
    for (const p of r.find((x) => x.topic === this.o.topic)?.partitions ?? [])
      out.set(p.partition, Number(p.offset));
    return out;
  }

  private async group(): Promise<{ members: number; state: string }> {
    const { groups } = await this.admin.describeGroups([this.o.groupId]);
    const g = groups[0];
    return { members: g?.members.length ?? 0, state: g?.state ?? 'Unknown' };
  }
}
