/**
 * What a sliding-window aggregation knows of one key, in memory: the times of its records
 * (their values are in the records store) and the starts of its windows, open or closed,
 * both sorted, so the windows a record touches are found by binary search with no store
 * scan on the record path.
 */
import { between, insert, lowerBound, remove } from './sorted-times.js';

export class SlidingKey {
  /** Distinct record times, ascending. */
  readonly times: number[] = [];
  /** Window starts, ascending; those in `closed` were closed (their result went out). */
  readonly starts: number[] = [];
  readonly closed = new Set<number>();

  constructor(readonly key: unknown) {}

  /** Adds a record time; false when a record of that time was known already. */
  addTime(t: number): boolean {
    return insert(this.times, t);
  }

  forgetTime(t: number): void {
    remove(this.times, t);
  }

  timesIn(lo: number, hi: number): number[] {
    return between(this.times, lo, hi);
  }

  /** The latest record time before `t`, if any. */
  before(t: number): number | undefined {
    const i = lowerBound(this.times, t);
    return i > 0 ? this.times[i - 1] : undefined;
  }

  hasWindow(start: number): boolean {
    const i = lowerBound(this.starts, start);
    return this.starts[i] === start;
  }

  addWindow(start: number, closed: boolean): void {
    insert(this.starts, start);
    if (closed) this.closed.add(start);
  }

  forgetWindow(start: number): void {
    remove(this.starts, start);
    this.closed.delete(start);
  }

  startsIn(lo: number, hi: number): number[] {
    return between(this.starts, lo, hi);
  }

  get empty(): boolean {
    return !this.times.length && !this.starts.length;
  }
}
