/**
 * A stand-in for Finnhub's WebSocket server, for tests: listens on 127.0.0.1 (random
 * port), refuses a wrong token with HTTP 401 like Finnhub, records each connection's
 * subscriptions, sends whatever frames a test gives it and drops connections on demand.
 *
 * @example
 *   const server = await FakeFinnhubServer.start({ token: 'test-token' });
 *   const source = new FinnhubWebSocketSource({ config: { url: server.url, token: 'test-token', symbols: ['AAPL'] }, sink });
 *   void source.run(signal);
 *   await server.subscribed(['AAPL']);
 *   await server.send('{"type":"ping"}');
 *   server.drop();
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeFinnhubServerOptions {
  /** The only token accepted; absent: any. */
  token?: string;
}

export class FakeFinnhubServer {
  /** Every connection's subscribe messages, in order (symbol names). */
  readonly subscriptions: string[][] = [];
  /** Unsubscribe messages received, all connections. */
  readonly unsubscriptions: string[] = [];
  /** Handshakes refused for a bad token. */
  refused = 0;
  private socket: WebSocket | undefined;
  private waiters: Array<() => void> = [];

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (ws) => this.accept(ws));
  }

  static async start(opts: FakeFinnhubServerOptions = {}): Promise<FakeFinnhubServer> {
    let server: FakeFinnhubServer | undefined;
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info, done) => {
        const token = new URL(info.req.url ?? '/', 'ws://x').searchParams.get('token');
        if (opts.token === undefined || token === opts.token) return done(true);
        server!.refused++;
        done(false, 401, 'Unauthorized');
      },
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    return (server = new FakeFinnhubServer(wss));
  }

  /** `ws://127.0.0.1:<port>` (no token). */
  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.subscriptions.length;
  }

  /** Resolves once connection number `connection` (0-based; default: the latest) subscribed all of `symbols`. */
  async subscribed(symbols: string[], connection?: number): Promise<void> {
    const done = () => {
      const i = connection ?? this.subscriptions.length - 1;
      const got = this.subscriptions[i];
      return !!got && symbols.every((s) => got.includes(s));
    };
    while (!done()) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Sends one frame on the current connection; resolves once it is written to the socket. */
  send(frame: string | Buffer): Promise<void> {
    const ws = this.socket;
    if (!ws) return Promise.reject(new Error('no client connected'));
    return new Promise((resolve, reject) =>
      ws.send(frame, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Bytes sent but not yet taken by the client's socket (grows when the client pauses). */
  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  /** Drops the current connection abruptly (no close handshake), as a network failure would. */
  drop(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const subs: string[] = [];
    this.subscriptions.push(subs);
    this.socket = ws;
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; symbol: string };
      if (m.type === 'subscribe') subs.push(m.symbol);
      if (m.type === 'unsubscribe') this.unsubscriptions.push(m.symbol);
      for (const w of this.waiters.splice(0)) w();
    });
    for (const w of this.waiters.splice(0)) w();
  }
}
