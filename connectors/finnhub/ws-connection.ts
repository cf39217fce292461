/**
 * One WebSocket connection to Finnhub: opens, reports each frame with its bytes, watches
 * for silence (no frame, not even a ping, for `idleTimeoutMs`) and resolves `closed` with
 * how it ended. Reconnecting is the source's job.
 */
import WebSocket from 'ws';

export interface ConnectionOptions {
  /** Full URL, token included: never log it. */
  url: string;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  onOpen(): void;
  onFrame(bytes: Buffer): void;
}

/** How a connection ended. `error` and `reason` may hold the URL: redact before logging. */
export interface ConnectionOutcome {
  opened: boolean;
  frames: number;
  code: number;
  reason: string;
  error?: string;
  /** The HTTP status of a refused handshake (401 for a bad token). */
  httpStatus?: number;
  /** Closed by us after `idleTimeoutMs` of silence. */
  idle: boolean;
}

export class WsConnection {
  readonly closed: Promise<ConnectionOutcome>;
  private readonly ws: WebSocket;
  private readonly outcome: ConnectionOutcome;
  private idleTimer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(private readonly o: ConnectionOptions) {
    this.outcome = { opened: false, frames: 0, code: 0, reason: '', idle: false };
    this.ws = new WebSocket(o.url, { handshakeTimeout: o.handshakeTimeoutMs });
    this.closed = new Promise((resolve) => this.wire(resolve));
  }

  /** Sends `message` as JSON when the connection is open. */
  send(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Stops reading frames (TCP backpressure reaches the server); the idle watch stops too. */
  pause(): void {
    this.paused = true;
    clearTimeout(this.idleTimer);
    this.ws.pause();
  }

  resume(): void {
    this.paused = false;
    this.ws.resume();
    this.armIdle();
  }

  /** Closes politely; forces it if the server does not answer within a second. */
  close(): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.CONNECTING) return this.ws.terminate();
    this.ws.close(1000, 'client closing');
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  private wire(resolve: (o: ConnectionOutcome) => void): void {
    this.ws.on('open', () => {
      this.outcome.opened = true;
      if (this.paused) this.ws.pause();
      this.armIdle();
      this.o.onOpen();
    });
    this.ws.on('message', (data) => {
      this.outcome.frames++;
      this.armIdle();
      this.o.onFrame(toBuffer(data));
    });
    this.ws.on('error', (err) => {
      this.outcome.error = err.message;
      const status = /Unexpected server response: (\d+)/.exec(err.message);
      if (status) this.outcome.httpStatus = Number(status[1]);
    });
    this.ws.on('close', (code, reason) => {
      clearTimeout(this.idleTimer);
      this.outcome.code = code;
      this.outcome.reason = reason.toString('utf8');
      resolve(this.outcome);
    });
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.paused) return;
    this.idleTimer = setTimeout(() => {
      this.outcome.idle = true;
      this.ws.terminate();
    }, this.o.idleTimeoutMs);
    this.idleTimer.unref();
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
