/**
 * Scheduled punctuations of one task, on stream time (advanced by record timestamps) or on
 * the wall clock. Like Kafka Streams, a punctuation that fell behind fires once, at the
 * time it is noticed, and its next time stays aligned to its interval.
 */
import type { Cancellable, PunctuationType } from '../../processors/api.js';

export interface Punctuation {
  readonly interval: number;
  next: number;
  readonly type: PunctuationType;
  /** The node that scheduled it (names the processor in failures). */
  readonly node: string;
  readonly callback: (timestamp: number) => void | Promise<void>;
  cancelled: boolean;
}

export class Punctuations {
  private list: Punctuation[] = [];
  /** Earliest stream time at which a stream-time punctuation is due (+Infinity when none). */
  nextStreamTime = Number.POSITIVE_INFINITY;

  schedule(
    node: string,
    interval: number,
    type: PunctuationType,
    base: number,
    callback: Punctuation['callback'],
  ): Cancellable {
    if (!(interval > 0))
      throw new RangeError(`${node}: punctuation interval must be > 0 ms, got ${interval}`);
    const p: Punctuation = {
      interval,
      next: base + interval,
      type,
      node,
      callback,
      cancelled: false,
    };
    this.list.push(p);
    this.refresh();
    return { cancel: () => void ((p.cancelled = true), this.refresh()) };
  }

  /** The punctuations of `type` due at `now`, their next times moved past `now`. */
  takeDue(type: PunctuationType, now: number): Punctuation[] | undefined {
    let due: Punctuation[] | undefined;
    for (const p of this.list) {
      if (p.cancelled || p.type !== type || now < p.next) continue;
      p.next = now - ((now - p.next) % p.interval) + p.interval;
      (due ??= []).push(p);
    }
    if (due) this.refresh();
    return due;
  }

  private refresh(): void {
    this.list = this.list.filter((p) => !p.cancelled);
    let next = Number.POSITIVE_INFINITY;
    for (const p of this.list) if (p.type === 'stream-time' && p.next < next) next = p.next;
    this.nextStreamTime = next;
  }
}
