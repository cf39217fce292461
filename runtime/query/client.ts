/**
 * `QueryClient`: interactive queries of a running millrace application from any Node.js
 * (or browser) program, over the instances' HTTP endpoints. Give it one instance or a few:
 * any of them answers for any key (it forwards to the owner), and the client moves on to
 * the next when one does not answer. Answers that say "retry" (HTTP 503 during a rebalance
 * or a restore) are asked again after their Retry-After, for up to `retryForMs`.
 *
 * ```ts
 * const client = new QueryClient({ endpoints: ['127.0.0.1:9464'] });
 * const { value } = await client.get<string, number>('counts-store', 'user-42');
 * for await (const e of client.entries<string, number>('counts-store')) console.log(e.key, e.value);
 * ```
 */
import { MillraceError } from '../errors.js';
import type {
  Entry,
  FreshnessAnswer,
  GroupAnswer,
  KeyAnswer,
  PageAnswer,
  QueryErrorBody,
  WindowEntry,
} from './types.js';

export interface QueryClientOptions {
  /** Instances to ask, `host:port` or `http://host:port`; tried in order. */
  endpoints: string[];
  /** Accept answers from copies that may be behind (standbys, restoring tasks); they are flagged `stale`. Default false. */
  stale?: boolean;
  /** Ask the instance that holds a key directly (the first instance redirects) instead of through the first. Default false. */
  direct?: boolean;
  /** How long to keep asking while answers say retry (rebalance, restore). Default 30 000 ms; 0 asks once. */
  retryForMs?: number;
  /** Timeout of one request, in ms. Default 15 000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Bounds, paging and options of a scan. */
export interface ScanOptions<K> {
  from?: K;
  to?: K;
  /** Entries per page (default 100, at most 10 000). */
  limit?: number;
  /** The previous page's `next`. */
  cursor?: string;
  stale?: boolean;
}

export interface WindowOptions<K> {
  /** One key's windows; all keys' when absent. */
  key?: K;
  /** Window starts from (epoch ms, inclusive; sessions: ends). */
  from?: number;
  to?: number;
  limit?: number;
  cursor?: string;
  stale?: boolean;
}

/** A query the application did not answer: `status` and `code` say why; `retriable` whether later may work. */
export class QueryFailedError extends MillraceError {
  constructor(
    message: string,
    readonly status: number,
    code: string,
    retriable: boolean,
    readonly endpoint?: string,
  ) {
    super(message, { code, domain: status >= 500 ? 'external' : 'user', retriable });
  }
}

const base = (e: string) => (/^https?:\/\//.test(e) ? e.replace(/\/+$/, '') : `http://${e}`);

export class QueryClient {
  private readonly endpoints: string[];
  private readonly fetch: typeof fetch;
  private keySerdes?: Map<string, string>;

  constructor(private readonly opts: QueryClientOptions) {
    if (!opts.endpoints.length)
      throw new MillraceError(
        'QueryClient: give at least one endpoint (host:port of an instance)',
        {
          code: 'CONFIG_INVALID',
          domain: 'user',
        },
      );
    this.endpoints = opts.endpoints.map(base);
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** The application's stores, the group's members and their tasks, as the first instance knows them. */
  group(): Promise<GroupAnswer> {
    return this.ask<GroupAnswer>('/stores', new URLSearchParams());
  }

  /** The value of `key` in a key-value store (`found: false` when absent). */
  async get<K = unknown, V = unknown>(
    store: string,
    key: K,
    o: { stale?: boolean; partition?: number } = {},
  ): Promise<KeyAnswer<K, V>> {
    const q = await this.keyParams(store, key);
    if (o.partition !== undefined) q.set('partition', String(o.partition));
    return this.ask(`/stores/${encodeURIComponent(store)}/get`, this.common(q, o.stale, true));
  }

  /** One page of the entries with `from` ≤ key ≤ `to` (serialized byte order). */
  async range<K = unknown, V = unknown>(
    store: string,
    o: ScanOptions<K> = {},
  ): Promise<PageAnswer<Entry<K, V>>> {
    const q = new URLSearchParams();
    for (const bound of ['from', 'to'] as const)
      if (o[bound] !== undefined) {
        const k = await this.keyParams(store, o[bound]);
        for (const [name, v] of k) q.set(name === 'key' ? bound : `${bound}Hex`, v);
      }
    return this.ask(`/stores/${encodeURIComponent(store)}/range`, this.page(q, o));
  }

  /** One page of every entry of a key-value store. */
  all<K = unknown, V = unknown>(
    store: string,
    o: Omit<ScanOptions<K>, 'from' | 'to'> = {},
  ): Promise<PageAnswer<Entry<K, V>>> {
    return this.ask(
      `/stores/${encodeURIComponent(store)}/all`,
      this.page(new URLSearchParams(), o),
    );
  }

  /** Every entry of a range (or of the store), page after page. */
  async *entries<K = unknown, V = unknown>(
    store: string,
    o: Omit<ScanOptions<K>, 'cursor'> = {},
  ): AsyncIterable<Entry<K, V>> {
    let cursor: string | undefined;
    do {
      const page = await this.range<K, V>(store, { ...o, ...(cursor ? { cursor } : {}) });
      yield* page.results;
      cursor = page.next ?? undefined;
    } while (cursor);
  }

  /** One page of windows (or sessions): of one key, or of every key, in a time range. */
  async windows<K = unknown, V = unknown>(
    store: string,
    o: WindowOptions<K> = {},
  ): Promise<PageAnswer<WindowEntry<K, V>>> {
    const q = o.key === undefined ? new URLSearchParams() : await this.keyParams(store, o.key);
    if (o.from !== undefined) q.set('from', String(o.from));
    if (o.to !== undefined) q.set('to', String(o.to));
    return this.ask(
      `/stores/${encodeURIComponent(store)}/window`,
      this.page(q, o, o.key !== undefined),
    );
  }

  /** Per partition: which copy holds it, and its changelog position against the changelog's end. */
  freshness(store: string): Promise<FreshnessAnswer> {
    return this.ask(`/stores/${encodeURIComponent(store)}/freshness`, new URLSearchParams());
  }

  // --- internals ------------------------------------------------------------------

  private page(
    q: URLSearchParams,
    o: { limit?: number; cursor?: string; stale?: boolean },
    direct = false,
  ) {
    if (o.limit !== undefined) q.set('limit', String(o.limit));
    if (o.cursor) q.set('cursor', o.cursor);
    return this.common(q, o.stale, direct);
  }

  private common(q: URLSearchParams, stale: boolean | undefined, keyed: boolean): URLSearchParams {
    if (stale ?? this.opts.stale) q.set('stale', 'ok');
    if (keyed && this.opts.direct) q.set('route', 'redirect');
    return q;
  }

  /** The key as the store reads it: text for string keys, JSON otherwise, bytes as keyHex. */
  private async keyParams(store: string, key: unknown): Promise<URLSearchParams> {
    if (key instanceof Uint8Array)
      return new URLSearchParams({ keyHex: Buffer.from(key).toString('hex') });
    if (!this.keySerdes) {
      const g = await this.group();
      this.keySerdes = new Map(g.stores.map((s) => [s.name, s.keySerde]));
    }
    const serde = this.keySerdes.get(store);
    const text =
      serde === 'string' && typeof key === 'string'
        ? key
        : (serde === 'int64' || serde === 'float64') && typeof key === 'number'
          ? String(key)
          : JSON.stringify(key);
    return new URLSearchParams({ key: text });
  }

  private async ask<T>(path: string, query: URLSearchParams): Promise<T> {
    const deadline = Date.now() + (this.opts.retryForMs ?? 30_000);
    const qs = query.toString();
    for (let attempt = 0; ; attempt++) {
      let last: QueryFailedError | undefined;
      for (const endpoint of this.endpoints) {
        const r = await this.once<T>(`${endpoint}${path}${qs ? `?${qs}` : ''}`, endpoint);
        if (!(r instanceof QueryFailedError)) return r;
        last = r;
        // Another instance can answer as well as this one (each forwards): try it when this
        // one is unreachable; an answer that says why not (4xx, 503) is the group's answer.
        if (r.code !== 'UNREACHABLE') break;
      }
      const wait = last!.retriable ? this.retryAfter(last!) : undefined;
      if (wait === undefined || Date.now() + wait > deadline) throw last!;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private readonly waits = new WeakMap<QueryFailedError, number>();

  private retryAfter(e: QueryFailedError): number {
    return this.waits.get(e) ?? 1000;
  }

  private async once<T>(url: string, endpoint: string): Promise<T | QueryFailedError> {
    let res: Response;
    try {
      res = await this.fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000) });
    } catch (err) {
      return new QueryFailedError(
        `${endpoint} did not answer: ${(err as Error).message}`,
        0,
        'UNREACHABLE',
        true,
        endpoint,
      );
    }
    const text = await res.text();
    if (res.ok) return JSON.parse(text) as T;
    let body: Partial<QueryErrorBody> = {};
    try {
      body = JSON.parse(text) as QueryErrorBody;
    } catch {
      /* not an answer of ours */
    }
    const e = new QueryFailedError(
      body.error?.message ?? `${endpoint} answered ${res.status}: ${text.slice(0, 200)}`,
      res.status,
      body.error?.code ?? `HTTP_${res.status}`,
      body.error?.retriable ?? res.status === 503,
      body.error?.endpoint ?? endpoint,
    );
    const header = Number(res.headers.get('retry-after'));
    this.waits.set(e, body.error?.retryAfterMs ?? (header > 0 ? header * 1000 : 1000));
    return e;
  }
}
