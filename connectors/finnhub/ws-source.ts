/**
 * Finnhub's trade WebSocket as a `TradeSource`: connects with the token, subscribes each
 * symbol, hands every frame to the sink through the shared dispatcher (trade frames split
 * by symbol; `ping` and `error` counted; unreadable frames to the dead-letter topic), and
 * on a drop reconnects after a capped, fully jittered exponential backoff and subscribes
 * again. Finnhub does not replay what was missed while disconnected.
 *
 * Backpressure: frames wait in a bounded queue; when it fills, the socket is paused (TCP
 * flow control reaches the server) until the sink catches up. The token never appears in
 * a log line or an error: the URL is always printed redacted.
 *
 * @example
 *   const source = new FinnhubWebSocketSource({ config: finnhubConfig(), sink: producer });
 *   await source.run(abortController.signal);
 */
import { defaultBackoff, backoffDelay } from '../common/backoff.js';
import type { FinnhubConfig } from './config.js';
import { FrameDispatcher } from './dispatch.js';
import { FinnhubAuthError, FinnhubError } from './errors.js';
import { FrameQueue } from './frame-queue.js';
import { redactingLogger, silentLogger, type IngestLogger } from './log.js';
import { noopMetrics, type IngestMetrics } from './metrics.js';
import { redact, redactError } from './redact.js';
import type { SourceOptions, SourceSummary, TradeSource } from './source.js';
import { sleep } from './timing.js';
import { WsConnection, type ConnectionOutcome } from './ws-connection.js';

export interface FinnhubSourceOptions extends SourceOptions {
  /** URL, token, symbols, backoff and idle timeout (see `finnhubConfig()`). */
  config: Pick<FinnhubConfig, 'token' | 'url' | 'symbols'> &
    Partial<Pick<FinnhubConfig, 'reconnect' | 'idleTimeoutMs'>>;
  /** Gets redacted lines only. Default: silent. */
  logger?: IngestLogger;
  /** Frames queued before the socket is paused. Default 1000. */
  highWaterFrames?: number;
  /** WebSocket handshake timeout, ms. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Jitter source, uniform [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Connection counters of a `FinnhubWebSocketSource`. */
export interface FinnhubSourceStats {
  /** Connections opened (the first one included). */
  connections: number;
  /** Connections re-opened after a drop. */
  reconnects: number;
  /** Attempts that never opened (refused, timed out). */
  failedAttempts: number;
  connected: boolean;
  /** Frames received and not yet handed to the sink. */
  queuedFrames: number;
}

interface Received {
  bytes: Buffer;
  at: number;
}

export class FinnhubWebSocketSource implements TradeSource {
  readonly name = 'finnhub';
  private readonly log: IngestLogger;
  private readonly metrics: IngestMetrics;
  private readonly dispatcher: FrameDispatcher;
  private readonly queue: FrameQueue<Received>;
  private readonly now: () => number;
  private current: WsConnection | undefined;
  private paused = false;
  private fatal: Error | undefined;
  private readonly stopping = new AbortController();
  private readonly counters = { connections: 0, reconnects: 0, failedAttempts: 0 };

  constructor(private readonly o: FinnhubSourceOptions) {
    if (!o.config.token)
      throw new FinnhubError(
        'the Finnhub WebSocket source needs FINNHUB_TOKEN (environment or .env); without one, use the synthetic source',
        { code: 'CONFIG_INVALID', domain: 'user' },
      );
    this.log = redactingLogger(o.logger ?? silentLogger, [o.config.token]);
    this.metrics = o.metrics ?? noopMetrics;
    this.now = o.now ?? Date.now;
    this.dispatcher = new FrameDispatcher({
      sink: o.sink,
      source: 'finnhub',
      metrics: this.metrics,
      logger: this.log,
    });
    this.queue = new FrameQueue<Received>((f) => this.dispatcher.dispatch(f.bytes, f.at), {
      highWater: o.highWaterFrames ?? 1000,
      onHigh: () => this.pause(true),
      onLow: () => this.pause(false),
      onError: (err) => this.fail(err),
    });
  }

  get summary(): SourceSummary {
    return this.dispatcher.summary;
  }

  stats(): FinnhubSourceStats {
    return {
      ...this.counters,
      connected: this.current !== undefined,
      queuedFrames: this.queue.length,
    };
  }

  /** The endpoint as it may be printed (no token). */
  get printableUrl(): string {
    return redact(this.o.config.url, [this.o.config.token]);
  }

  async run(signal?: AbortSignal): Promise<SourceSummary> {
    const onAbort = () => this.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) this.stop();
    try {
      await this.connectLoop(this.stopping.signal);
      await this.queue.drained().catch(() => undefined);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.fatal) throw this.fatal;
    return this.summary;
  }

  /** Unsubscribes, closes the connection and ends `run` once received frames are handed over. */
  private stop(): void {
    for (const symbol of this.o.config.symbols) this.current?.send({ type: 'unsubscribe', symbol });
    this.current?.close();
    this.stopping.abort();
  }

  private async connectLoop(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      const outcome = await this.connectOnce();
      if (signal.aborted) return;
      if (outcome.httpStatus === 401 || outcome.httpStatus === 403)
        return this.fail(new FinnhubAuthError(outcome.httpStatus));
      if (outcome.frames > 0) attempt = 0;
      if (!outcome.opened) this.counters.failedAttempts++;
      const delayMs = backoffDelay(
        attempt++,
        this.o.config.reconnect ?? defaultBackoff,
        this.o.random,
      );
      this.log.warn('finnhub connection lost; reconnecting', {
        url: this.printableUrl,
        ...describeOutcome(outcome),
        attempt,
        delayMs,
      });
      await sleep(delayMs, signal);
    }
  }

  private connectOnce(): Promise<ConnectionOutcome> {
    const url = new URL(this.o.config.url);
    url.searchParams.set('token', this.o.config.token!);
    const conn = new WsConnection({
      url: url.toString(),
      handshakeTimeoutMs: this.o.handshakeTimeoutMs ?? 10_000,
      idleTimeoutMs: this.o.config.idleTimeoutMs ?? 60_000,
      onOpen: () => this.opened(conn),
      onFrame: (bytes) => this.queue.push({ bytes, at: this.now() }),
    });
    this.current = conn;
    if (this.paused) conn.pause();
    return conn.closed.finally(() => {
      if (this.current === conn) this.current = undefined;
    });
  }

  private opened(conn: WsConnection): void {
    const reconnect = this.counters.connections++ > 0;
    for (const symbol of this.o.config.symbols) conn.send({ type: 'subscribe', symbol });
    if (reconnect) {
      this.counters.reconnects++;
      this.metrics.reconnect();
    }
    this.log.info(reconnect ? 'finnhub reconnected; subscribed again' : 'finnhub connected', {
      url: this.printableUrl,
      symbols: this.o.config.symbols.length,
    });
  }

  private pause(on: boolean): void {
    this.paused = on;
    if (on) this.current?.pause();
    else this.current?.resume();
    this.log.debug(on ? 'sink is slow: WebSocket paused' : 'sink caught up: WebSocket resumed', {
      queuedFrames: this.queue.length,
    });
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const secrets = [this.o.config.token];
    this.fatal ??= redact(e.message, secrets) === e.message ? e : redactError(e, secrets);
    this.current?.close();
    this.stopping.abort();
  }
}

function describeOutcome(o: ConnectionOutcome): Record<string, unknown> {
  return {
    opened: o.opened,
    framesOnConnection: o.frames,
    closeCode: o.code,
    ...(o.reason ? { closeReason: o.reason } : {}),
    ...(o.error ? { error: o.error } : {}),
    ...(o.idle ? { idle: true } : {}),
  };
}
