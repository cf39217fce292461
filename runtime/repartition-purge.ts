/**
 * Purging repartition topics (Kafka Streams' `repartition.purge.interval.ms`). A
 * repartition topic keeps its records by no time (`retention.ms=-1`): they carry their
 * event times, and the broker's time retention would delete a replay's old records before
 * the downstream task read them. So that the topic does not grow forever, an instance
 * deletes from each repartition partition its tasks read the records below the group's
 * committed offset: those are processed for good (under exactly-once the offset is only
 * visible once its transaction committed). Best effort: a failed purge is logged and done
 * again at the next interval.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from './log.js';

export interface PurgeTarget {
  topic: string;
  partition: number;
}

export class RepartitionPurge {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The offset each partition was last purged to ("topic:partition"). */
  private readonly purged = new Map<string, number>();
  private failedBefore = false;

  constructor(
    private readonly admin: Admin,
    private readonly groupId: string,
    /** The repartition partitions this instance's tasks read now. */
    private readonly targets: () => PurgeTarget[],
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.purgeOnce()
        .then(() => {})
        .catch((err: unknown) => this.failed(err))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes what the group has committed from each target partition; returns what it deleted up to. */
  async purgeOnce(): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>();
    for (const t of this.targets()) {
      const list = byTopic.get(t.topic) ?? [];
      list.push(t.partition);
      byTopic.set(t.topic, list);
    }
    const done = new Map<string, number>();
    if (!byTopic.size) return done;
    const committed = await this.admin.fetchOffsets({
      groupId: this.groupId,
      topics: [...byTopic.keys()],
    });
    for (const { topic, partitions } of committed) {
      const mine = new Set(byTopic.get(topic));
      const due = partitions
        .map((p) => ({ partition: p.partition, offset: Number(p.offset) }))
        .filter(
          (p) =>
            mine.has(p.partition) &&
            p.offset > 0 &&
            p.offset > (this.purged.get(`${topic}:${p.partition}`) ?? 0),
        );
      if (!due.length) continue;
      // kafkajs finds partition leaders in its metadata: this loads the topic's.
      await this.admin.fetchTopicOffsets(topic);
      await this.admin.deleteTopicRecords({
        topic,
        partitions: due.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
      });
      for (const p of due) {
        this.purged.set(`${topic}:${p.partition}`, p.offset);
        done.set(`${topic}:${p.partition}`, p.offset);
      }
    }
    this.failedBefore = false;
    return done;
  }

  private failed(err: unknown): void {
    // Once per run of failures: a broker down makes every interval fail alike.
    if (this.failedBefore) return;
    this.failedBefore = true;
    this.log.warn('purging repartition topics failed; trying again at the next interval', {
      error: err,
    });
  }
}
