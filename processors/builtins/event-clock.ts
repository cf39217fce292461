/**
 * The clock of a windowed processor: the task's stream time, moved on by the wall clock
 * when input stops (close on idle). Kafka Streams, Faust and Quix close a window only when
 * a later record moves stream time past it, so the last windows before a pause wait for
 * the next record, however long that takes. With `idleCloseMs` set, when neither a record
 * reached the processor nor the task's stream time moved for that long on the wall
 * clock, the clock moves on by the idle time, as if records had kept coming, and the
 * windows that this closes emit their results.
 *
 * What it means for late records: a record that arrives after an idle advance is judged
 * against the advanced clock, so one for a window the advance closed is late (sent to the
 * `late` output or the dead-letter topic), even if it is on time by the stream's own
 * clock. A closed window is remembered in its store, so it is not opened again after a
 * restart either; the advance itself is not kept (the task resumes at its committed
 * stream time), so a record for a window that never opened is judged by that.
 */
import type { Cancellable, ProcessorContext } from '../api.js';

/** How often (wall clock) idleness is checked: every second, or every `idleCloseMs` if shorter. */
const CHECK_EVERY_MS = 1000;

export class EventClock {
  private advanced = -1;
  private lastActivity: number;
  private lastStreamTime: number;

  constructor(
    private readonly ctx: Pick<ProcessorContext, 'streamTime' | 'currentSystemTime' | 'schedule'>,
    private readonly idleCloseMs: number | undefined,
  ) {
    this.lastActivity = ctx.currentSystemTime();
    this.lastStreamTime = ctx.streamTime();
  }

  /** Stream time, or later when idleness moved it on (epoch ms; -1 before any record). */
  now(): number {
    const t = this.ctx.streamTime();
    return t > this.advanced ? t : this.advanced;
  }

  /** Notes input: call it for each record the processor receives. */
  touch(): void {
    if (this.idleCloseMs !== undefined) this.lastActivity = this.ctx.currentSystemTime();
  }

  /** Starts the idle checks (none when `idleCloseMs` is undefined); `onAdvance(now)` closes what is due. */
  start(onAdvance: (now: number) => void): Cancellable | undefined {
    const idle = this.idleCloseMs;
    if (idle === undefined) return undefined;
    return this.ctx.schedule(Math.min(CHECK_EVERY_MS, idle), 'wall-clock', (wall) =>
      this.check(wall, idle, onAdvance),
    );
  }

  private check(wall: number, idleCloseMs: number, onAdvance: (now: number) => void): void {
    const streamTime = this.ctx.streamTime();
    if (streamTime !== this.lastStreamTime) {
      // Records reached the task (maybe not this processor) since the last check: input now.
      this.lastStreamTime = streamTime;
      this.lastActivity = wall;
    }
    const now = this.now();
    const idle = wall - this.lastActivity;
    if (now < 0 || idle < idleCloseMs) return;
    this.advanced = now + idle;
    this.lastActivity = wall;
    onAdvance(this.advanced);
    this.lastStreamTime = this.ctx.streamTime(); // the advance itself is no input
  }
}
