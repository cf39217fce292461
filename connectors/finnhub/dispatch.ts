/**
 * The step every source shares: read a frame, count it, hand its per-symbol trade messages
 * (or the frame itself, as a dead letter) to the sink, and wait for the sink — so nothing
 * received is dropped silently and a slow sink slows the source.
 */
import { silentLogger, type IngestLogger } from './log.js';
import { parseFrame, type Parsed } from './messages.js';
import { noopMetrics, type IngestMetrics } from './metrics.js';
import type { TradeSink } from './sink.js';
import {
  emptySummary,
  type SourceOptions,
  type SourceSummary,
  type TradeSource,
} from './source.js';
import type { SourceName } from './types.js';

export interface DispatchOptions {
  sink: TradeSink;
  source: SourceName;
  metrics: IngestMetrics;
  logger: IngestLogger;
}

export class FrameDispatcher {
  readonly summary: SourceSummary = emptySummary();

  constructor(private readonly o: DispatchOptions) {}

  /** A dispatcher for `source` to a source's sink; no metrics or logs unless given. */
  static for(
    source: SourceName,
    o: { sink: TradeSink; metrics?: IngestMetrics; logger?: IngestLogger },
  ): FrameDispatcher {
    const metrics = o.metrics ?? noopMetrics;
    return new FrameDispatcher({ sink: o.sink, source, metrics, logger: o.logger ?? silentLogger });
  }

  /** Parses `frame` (received at `ingestTimestamp`, epoch ms) and delivers it. */
  async dispatch(frame: Buffer | string, ingestTimestamp: number): Promise<Parsed> {
    const parsed = parseFrame(frame, ingestTimestamp);
    await this.deliver(parsed, frame, ingestTimestamp);
    return parsed;
  }

  /** Delivers an already parsed frame; `frame` is its original text or bytes. */
  async deliver(parsed: Parsed, frame: Buffer | string, ingestTimestamp: number): Promise<void> {
    const { sink, metrics } = this.o;
    this.summary.frames++;
    switch (parsed.kind) {
      case 'trades':
        metrics.messageReceived('trade');
        for (const m of parsed.messages) {
          this.summary.tradeMessages++;
          this.summary.trades += m.data.length;
          metrics.tradesReceived(m.data.length);
          await sink.accept(m);
        }
        return;
      case 'ping':
        this.summary.pings++;
        metrics.messageReceived('ping');
        return;
      case 'error':
        this.summary.errors++;
        metrics.messageReceived('error');
        this.o.logger.warn('finnhub sent an error message', {
          source: this.o.source,
          finnhubMessage: parsed.message.slice(0, 500),
        });
        return;
      case 'reject':
        this.summary.deadLettered++;
        metrics.messageReceived('invalid');
        metrics.deadLettered(parsed.reason);
        await sink.deadLetter({
          bytes: typeof frame === 'string' ? Buffer.from(frame) : frame,
          reason: parsed.reason,
          detail: parsed.detail,
          source: this.o.source,
          timestamp: ingestTimestamp,
        });
    }
  }
}

/** A source that hands what it reads over through a dispatcher, on a wall clock of its own. */
export abstract class DispatchingSource implements TradeSource {
  protected readonly dispatcher: FrameDispatcher;
  protected readonly now: () => number;

  constructor(
    readonly name: SourceName,
    o: SourceOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.dispatcher = FrameDispatcher.for(name, o);
  }

  /** What was read so far. */
  get summary(): SourceSummary {
    return this.dispatcher.summary;
  }

  abstract run(signal?: AbortSignal): Promise<SourceSummary>;
}
