/**
 * Interactive queries over HTTP: the request handler the instance's server uses for
 * `/stores…` (observability/server.ts), and `serveQueries` for a program that runs a
 * `StreamsApp` itself and wants its stores queryable without `millrace run`.
 *
 * ```ts
 * const app = new StreamsApp(topology, config);
 * const server = await serveQueries(app, { port: 9464 }); // before start: the port is advertised
 * await app.start();
 * ```
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { StreamsApp } from '../app.js';
import { queryService } from './app-queries.js';
import { FORWARDED_HEADER, type QueryResponse, type QueryService } from './service.js';

/** Answers one HTTP request for `/stores…` with `service`. */
export async function answerHttp(
  service: Pick<QueryService, 'handle'>,
  req: http.IncomingMessage,
): Promise<QueryResponse> {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return {
      status: 405,
      headers: { 'content-type': 'application/json', allow: 'GET' },
      body: JSON.stringify({
        error: { code: 'METHOD', message: 'queries are GET requests', retriable: false },
      }),
    };
  const url = new URL(req.url ?? '/', 'http://localhost');
  return service.handle({
    path: url.pathname,
    query: url.searchParams,
    forwarded: req.headers[FORWARDED_HEADER] !== undefined,
  });
}

/** True for the paths interactive queries answer. */
export const isQueryPath = (url: string): boolean => /^\/stores(\/|\?|$)/.test(url);

/** The `host:port` other instances reach a server bound to `host` at (a wildcard address: the machine's name). */
export function advertisedEndpoint(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? os.hostname() : host;
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/**
 * An HTTP server whose handler answers each request with a status, headers and body, never
 * cached; an answer that fails is a 500 saying why.
 */
export function answeringServer(
  answer: (req: http.IncomingMessage) => Promise<QueryResponse>,
): http.Server {
  return http.createServer((req, res) => {
    answer(req)
      .then(({ status, headers, body }) => {
        res.writeHead(status, { ...headers, 'cache-control': 'no-store' });
        res.end(body);
      })
      .catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${(err as Error).message}\n`);
      });
  });
}

/** Listens on `host:port` (0: a free port); resolves with the port bound. */
export async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

export interface QueryServer {
  /** `http://host:port` */
  url: string;
  /** What the group is told: `host:port`. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Serves `app`'s interactive queries on `host:port` (default 127.0.0.1, a free port) and
 * advertises the address to the group (unless `applicationServer` is configured). Call
 * before `app.start()`.
 */
export async function serveQueries(
  app: StreamsApp,
  o: {
    port?: number;
    host?: string;
    /** What to advertise, given the port bound (default: `applicationServer`, else host:port). */
    endpoint?: (port: number) => string;
  } = {},
): Promise<QueryServer> {
  const service = queryService(app);
  const server = answeringServer((req) =>
    isQueryPath(req.url ?? '/')
      ? answerHttp(service, req)
      : Promise.resolve({
          status: 404,
          headers: { 'content-type': 'text/plain' },
          body: 'not found: /stores\n',
        }),
  );
  const host = o.host ?? '127.0.0.1';
  const port = await listen(server, o.port ?? 0, host);
  const endpoint = o.endpoint
    ? o.endpoint(port)
    : (app.config.applicationServer ?? advertisedEndpoint(host, port));
  app.advertise(endpoint);
  return {
    url: `http://${host}:${port}`,
    endpoint,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // idle keep-alive connections of other instances' forwards
      }),
  };
}

/**
 * Queries answered by another server of this instance: an instance of several stream
 * threads passes its `/stores…` requests to a thread's own query server (each thread is a
 * member of the group that advertises where it answers, and forwards what it does not
 * hold to the member that does). `base` resolves with that server's `http://host:port`.
 */
export function relayedQueries(
  base: () => Promise<string>,
  timeoutMs = 15_000,
): Pick<QueryService, 'handle'> {
  return {
    async handle(req) {
      const query = req.query.toString();
      try {
        const res = await fetch(`${await base()}${req.path}${query ? `?${query}` : ''}`, {
          headers: req.forwarded ? { [FORWARDED_HEADER]: '1' } : {},
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'location', 'retry-after']) {
          const v = res.headers.get(h);
          if (v !== null) headers[h] = v;
        }
        return { status: res.status, headers, body: await res.text() };
      } catch (err) {
        return {
          status: 503,
          headers: { 'content-type': 'application/json', 'retry-after': '1' },
          body: JSON.stringify({
            error: {
              code: 'THREAD_UNAVAILABLE',
              message: `no stream thread of this instance answered: ${(err as Error).message}`,
              retriable: true,
            },
          }),
        };
      }
    },
  };
}
