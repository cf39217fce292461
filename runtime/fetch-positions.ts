/**
 * Where processing stands in each input partition of a thread's running tasks, and whether
 * a fetched batch continues from there.
 *
 * The consumer hands over batches that do not: records a task already processed (a batch
 * fetched before a rebalance, or a refetch from the group's committed offset, which under
 * exactly-once trails what the open transaction holds), and batches fetched from *beyond*
 * the task's position: fetched before the task was sought back (recreated after a
 * rolled-back commit, resumed at its committed offsets) and delivered after the seek was
 * applied, e.g. by the fetcher of the partition's former leader. The first are dropped
 * record by record; the second would skip the records in between, so the batch is dropped
 * and the partition fetched again from the position.
 */

export type Placement =
  /** Process the batch's records from `from` on (those below it were processed already). */
  | { process: true; from: number }
  /** Drop the batch and fetch the partition again from `position`. */
  | { process: false; position: number };

/** A placement, and the offsets deleted from the log when the task goes on beyond them. */
export type Placed = Placement & { deleted?: [number, number] };

const tp = (topic: string, partition: number) => `${topic}:${partition}`;

export class FetchPositions {
  /** Next offset to process per `topic:partition`. */
  private readonly next = new Map<string, number>();
  /** Partitions sought back to this position after a batch fetched ahead of it. */
  private readonly soughtBack = new Map<string, number>();

  /** The next offset to process, or -1 when the partition has no running task. */
  get(topic: string, partition: number): number {
    return this.next.get(tp(topic, partition)) ?? -1;
  }

  has(topic: string, partition: number): boolean {
    return this.next.has(tp(topic, partition));
  }

  /** The task (re)starts here (its committed offset) or moved past a batch to here. */
  set(topic: string, partition: number, next: number): void {
    this.next.set(tp(topic, partition), next);
  }

  delete(topic: string, partition: number): void {
    this.next.delete(tp(topic, partition));
    this.soughtBack.delete(tp(topic, partition));
  }

  /**
   * A fetch that held only records read_committed leaves out (transaction markers, aborted
   * records) never reaches the thread: the consumer moves past it by itself. When it was
   * fetched from where the task stands, the position moves past it too, so that the next
   * batch is not taken for one fetched before a seek. True when it moved.
   */
  passFiltered(topic: string, partition: number, fetchedOffset: number, next: number): boolean {
    const k = tp(topic, partition);
    const position = this.next.get(k);
    if (position === undefined || fetchedOffset > position || next <= position) return false;
    this.next.set(k, next);
    return true;
  }

  /**
   * Whether a batch fetched from `fetchedOffset` continues where the task stands. A batch
   * from beyond the position is refetched, except when the refetch, too, starts beyond it
   * and `logStart` (asked only then) shows the records in between are gone from the log
   * (deleted by retention; the consumer's offset reset moved it to the log's start).
   * Synchronous but in that case (it is on the path of every batch).
   */
  place(
    topic: string,
    partition: number,
    fetchedOffset: number,
    logStart: () => Promise<number>,
  ): Placed | Promise<Placed> {
    const k = tp(topic, partition);
    const position = this.next.get(k);
    if (position === undefined || !(fetchedOffset > position)) {
      if (this.soughtBack.size) this.soughtBack.delete(k);
      return { process: true, from: position ?? -1 };
    }
    if (this.soughtBack.get(k) === position)
      return logStart().then((start): Placed => {
        if (start > position) {
          this.soughtBack.delete(k);
          return { process: true, from: fetchedOffset, deleted: [position, start - 1] };
        }
        return { process: false, position };
      });
    this.soughtBack.set(k, position);
    return { process: false, position };
  }
}
