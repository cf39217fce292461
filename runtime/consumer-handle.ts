/**
 * The thread's hold on its kafkajs consumer for pausing, resuming and seeking partitions.
 *
 * After some errors (a broker going away among them) kafkajs restarts its consumer: it
 * leaves the group, waits, and joins again. In between it has no consumer group, and
 * pause/resume/seek throw "Consumer group was not initialized" — which, thrown into a
 * task's restore or resume, used to stop the instance. Nothing those calls would do
 * matters across a restart: the rejoin brings a new assignment, for which the thread pauses
 * the tasks that are not running and seeks the running ones to their positions again. So
 * here such calls are dropped while the consumer restarts (and counted, for the log).
 */
import type { Consumer } from 'kafkajs';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

const NOT_RUNNING = /Consumer group was not initialized/;

export class ConsumerHandle {
  /** Calls dropped because the consumer was restarting. */
  dropped = 0;

  constructor(readonly consumer: Consumer) {}

  pause(parts: TopicPartitions[]): void {
    if (parts.length) this.guard(() => this.consumer.pause(parts));
  }

  resume(parts: TopicPartitions[]): void {
    if (parts.length) this.guard(() => this.consumer.resume(parts));
  }

  seek(topic: string, partition: number, offset: number): void {
    this.guard(() => this.consumer.seek({ topic, partition, offset: String(offset) }));
  }

  private guard(call: () => void): void {
    try {
      call();
    } catch (err) {
      if (!NOT_RUNNING.test(String((err as Error)?.message))) throw err;
      this.dropped++;
    }
  }
}

/** Partitions grouped by topic, as kafkajs's pause/resume take them. */
export function groupByTopic(
  parts: ReadonlyArray<{ topic: string; partition: number }>,
): TopicPartitions[] {
  const m = new Map<string, number[]>();
  for (const p of parts) {
    let list = m.get(p.topic);
    if (!list) m.set(p.topic, (list = []));
    list.push(p.partition);
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}
