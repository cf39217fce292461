/**
 * Frames received but not yet handed to the sink, processed one at a time in arrival
 * order. Past `highWater` frames it asks the producer of frames (the WebSocket) to pause,
 * and to resume once half are done: memory stays bounded and nothing is dropped.
 */

export interface FrameQueueOptions {
  /** Frames queued before `onHigh` is called. */
  highWater: number;
  /** Stop reading (e.g. pause the socket). */
  onHigh(): void;
  /** Read again. */
  onLow(): void;
  /** The handler failed: the queue stops; `drained()` rejects with the same error. */
  onError(err: unknown): void;
}

export class FrameQueue<T> {
  private items: T[] = [];
  private head = 0;
  private running = false;
  private high = false;
  private failure: { err: unknown } | undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly handle: (item: T) => Promise<unknown>,
    private readonly o: FrameQueueOptions,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    if (this.failure) return;
    this.items.push(item);
    if (!this.high && this.length >= this.o.highWater) {
      this.high = true;
      this.o.onHigh();
    }
    if (!this.running) void this.run();
  }

  /** Resolves when every queued frame was handled; rejects if the handler failed. */
  async drained(): Promise<void> {
    if (this.running) await new Promise<void>((r) => this.idle.push(r));
    if (this.failure) throw this.failure.err;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.length && !this.failure) {
        const item = this.items[this.head++]!;
        if (this.head > 1024) this.compact();
        await this.handle(item);
        if (this.high && this.length <= this.o.highWater / 2) {
          this.high = false;
          this.o.onLow();
        }
      }
    } catch (err) {
      this.failure = { err };
      this.o.onError(err);
    } finally {
      this.running = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  private compact(): void {
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
