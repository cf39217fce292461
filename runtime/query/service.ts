/**
 * Interactive queries across instances, without RPC code from the user (Kafka Streams'
 * queryable stores with the RPC layer built in, as Faust forwards `/table/<name>/<key>`).
 * Every instance answers for any key: from its own copy, or by asking the instance that
 * runs the key's task (the group's task map, runtime/group-member.ts), or, asked to, by
 * telling the client where to go (307). Ranges, `all` and window scans ask every partition's
 * owner and merge the pages, in key-byte order (window scans: time, then key bytes).
 *
 * GET routes (under the instance's HTTP server, observability/server.ts):
 *   /stores                                  the stores, this instance, the group's map
 *   /stores/<store>/get?key=K                a key's value (or keyHex=<bytes>)
 *   /stores/<store>/range?from=A&to=B        entries with A ≤ key ≤ B (either optional)
 *   /stores/<store>/all                      every entry
 *   /stores/<store>/window?key=K&from=T&to=T windows of K starting in [from, to] (sessions: ending)
 *   /stores/<store>/window?from=T&to=T       every key's windows in [from, to]
 *   /stores/<store>/freshness                per partition: who holds it, its changelog position and end
 * Options: limit (default 100, at most 10 000) and cursor (the previous page's `next`);
 * stale=ok (answer from a standby or a restoring task rather than refuse, flagged `stale`);
 * route=redirect (a key lookup is answered 307 with the owner's URL instead of forwarded);
 * partition=N (a key's partition when the store's key is not how its input was partitioned).
 * While the partition cannot be read fresh (a rebalance, a restore, its owner gone) the
 * answer is 503 with Retry-After and a code saying why.
 */
import type { MemberEndpoint } from '../group-protocol.js';
import {
  compareEntries,
  decodeCursor,
  encodeCursor,
  keyFromHex,
  parseKey,
  toJson,
  type Cursor,
} from './codec.js';
import { QueryError, unavailable } from './errors.js';
import {
  activeCopy,
  keyValuePage,
  standbyCopy,
  windowPage,
  type Copy,
  type PartitionPage,
  type QueryStore,
  type ReplicaSource,
} from './local.js';
import { partitionForKey } from './partitioner.js';
import type {
  Entry,
  FreshnessAnswer,
  GroupAnswer,
  KeyAnswer,
  PageAnswer,
  ServedBy,
  WindowEntry,
} from './types.js';

/** Marks a request one instance forwarded to another: it is answered there or refused, never forwarded again. */
export const FORWARDED_HEADER = 'x-millrace-forwarded';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/** What the service reads of the instance (built by `queryContextFor` in app-queries.ts). */
export interface QueryContext {
  applicationId: string;
  stores(): QueryStore[];
  replicas: ReplicaSource;
  /** The group as the latest assignment described it. */
  group(): { generation: number; members: MemberEndpoint[] } | undefined;
  rebalancing(): boolean;
  /** End offsets of changelog partitions (`topic:partition` → offset). */
  ends(topics: string[]): Promise<Map<string, number>>;
}

export interface QueryRequest {
  /** The path, e.g. `/stores/counts/get`. */
  path: string;
  query: URLSearchParams;
  /** True when another instance forwarded it (the FORWARDED_HEADER). */
  forwarded: boolean;
}

export interface QueryResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface QueryServiceOptions {
  /** How long a forwarded request may take. Default 10 s. */
  forwardTimeoutMs?: number;
  fetch?: typeof fetch;
}

type Op = 'get' | 'range' | 'all' | 'window' | 'freshness';
const OPS: readonly Op[] = ['get', 'range', 'all', 'window', 'freshness'];

/** A page from one source (a local partition, or an instance answering for several). */
interface Source<E> {
  entries: E[];
  more: boolean;
  servedBy: ServedBy[];
}

const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): QueryResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: toJson(body),
});

export class QueryService {
  private readonly fetch: typeof fetch;

  constructor(
    private readonly ctx: QueryContext,
    private readonly opts: QueryServiceOptions = {},
  ) {
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  async handle(req: QueryRequest): Promise<QueryResponse> {
    try {
      const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
      if (parts[0] !== 'stores' || parts.length > 3)
        throw new QueryError(`no such query route: ${req.path}`, {
          code: 'NOT_FOUND',
          status: 404,
        });
      if (parts.length === 1) return json(200, this.groupAnswer());
      const store = this.store(parts[1]!);
      const op = (parts[2] ?? 'all') as Op;
      if (!OPS.includes(op))
        throw new QueryError(`no such query: ${op}; use one of ${OPS.join(', ')}`, {
          code: 'NOT_FOUND',
          status: 404,
        });
      return await this.run(op, store, req);
    } catch (err) {
      if (err instanceof QueryError)
        return json(
          err.status,
          err.toBody(),
          err.retryAfterMs !== undefined
            ? { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) }
            : {},
        );
      return json(500, {
        error: {
          code: 'INTERNAL',
          message: (err as Error)?.message ?? String(err),
          retriable: false,
        },
      });
    }
  }

  private run(op: Op, q: QueryStore, req: QueryRequest): Promise<QueryResponse> {
    switch (op) {
      case 'get':
        return this.get(q, req);
      case 'range':
      case 'all':
        if (q.kind !== 'keyValue')
          throw new QueryError(
            `${q.name} is a ${q.kind} store: use /window (with or without key)`,
            {
              code: 'WRONG_KIND',
              status: 400,
            },
          );
        return this.scan(q, req, (copy, after, limit) =>
          keyValuePage(q, copy, { ...this.bounds(q, req, op), ...(after ? { after } : {}), limit }),
        );
      case 'window':
        return q.kind === 'keyValue'
          ? Promise.reject(
              new QueryError(`${q.name} is a key-value store: use /get, /range or /all`, {
                code: 'WRONG_KIND',
                status: 400,
              }),
            )
          : this.windows(q, req);
      case 'freshness':
        return this.freshness(q, req);
    }
  }

  // --- one key --------------------------------------------------------------------

  private async get(q: QueryStore, req: QueryRequest): Promise<QueryResponse> {
    if (q.kind !== 'keyValue')
      throw new QueryError(`${q.name} is a ${q.kind} store: use /window?key=…`, {
        code: 'WRONG_KIND',
        status: 400,
      });
    const key = this.key(q, req.query);
    const partition = this.partitionOf(q, key, req.query);
    return this.single(q, partition, req, async (copy) => {
      const value = (copy.store as { get(k: unknown): unknown }).get(key);
      const answer: KeyAnswer = {
        store: q.name,
        key,
        partition,
        found: value !== undefined,
        value: value ?? null,
        stale: copy.servedBy.stale,
        servedBy: copy.servedBy,
      };
      return json(200, answer);
    });
  }

  private async windows(q: QueryStore, req: QueryRequest): Promise<QueryResponse> {
    const { from, to } = this.times(req.query);
    if (!req.query.has('key') && !req.query.has('keyHex'))
      return this.scan(q, req, (copy, after, limit) =>
        windowPage(q, copy, { from, to, ...(after ? { after } : {}), limit }),
      );
    const key = this.key(q, req.query);
    const partition = this.partitionOf(q, key, req.query);
    const limit = this.limit(req.query);
    const after = this.cursor(req.query);
    return this.single(q, partition, req, async (copy) => {
      const page = await windowPage(q, copy, { key, from, to, ...(after ? { after } : {}), limit });
      return json(200, this.pageAnswer(q, [toSource(page, limit)], limit));
    });
  }

  /**
   * Answers for one partition: here when the active task is here (or, stale, a standby),
   * else from the owner (forwarded or redirected), falling back to a standby when stale.
   */
  private async single(
    q: QueryStore,
    partition: number,
    req: QueryRequest,
    answer: (copy: Copy) => Promise<QueryResponse>,
  ): Promise<QueryResponse> {
    const stale = isStale(req.query);
    const src = this.ctx.replicas;
    const here = activeCopy(src, q, partition, stale);
    if (here) return answer(here);
    const fallback = async (err: QueryError) => {
      const copy = stale ? standbyCopy(src, q, partition) : undefined;
      if (copy) return answer(copy);
      if (stale && !req.forwarded) {
        const res = await this.fromStandbys(q, [partition], req);
        if (res) return res;
      }
      throw err;
    };
    if (req.forwarded) return fallback(this.notOwner(q, partition));
    const owner = this.owner(q, partition);
    if (typeof owner !== 'string') return fallback(owner);
    if (req.query.get('route') === 'redirect') {
      const location = urlOf(owner, req, [partition], false);
      return json(307, { redirect: location, endpoint: owner }, { location });
    }
    const res = await this.forward(owner, req, [partition]);
    if (res.status === 200 || !stale) return res;
    return fallback(
      unavailable(
        'OWNER_UNAVAILABLE',
        `${owner} could not answer for partition ${partition}`,
        owner,
      ),
    );
  }

  // --- scans across partitions ----------------------------------------------------

  private async scan<E extends Entry | WindowEntry>(
    q: QueryStore,
    req: QueryRequest,
    read: (copy: Copy, after: Cursor | undefined, limit: number) => Promise<PartitionPage<E>>,
  ): Promise<QueryResponse> {
    const stale = isStale(req.query);
    const limit = this.limit(req.query);
    const after = this.cursor(req.query);
    const src = this.ctx.replicas;
    const local = (copy: Copy) => read(copy, after, limit).then((page) => toSource(page, limit));
    const sources: Array<Source<E>> = [];
    const remote = new Map<string, number[]>();
    for (const p of this.partitionsOf(q, req.query)) {
      const here =
        activeCopy(src, q, p, stale) ??
        (stale && req.forwarded ? standbyCopy(src, q, p) : undefined);
      if (here) sources.push(await local(here));
      else if (req.forwarded) throw this.notOwner(q, p);
      else {
        const owner = this.owner(q, p);
        if (typeof owner === 'string') remote.set(owner, [...(remote.get(owner) ?? []), p]);
        else if (!stale) throw owner;
        else sources.push(await this.staleSource<E>(q, p, req, local, owner));
      }
    }
    for (const [owner, ps] of remote) {
      const res = await this.forward(owner, req, ps);
      if (res.status === 200) sources.push(fromAnswer<E>(JSON.parse(res.body) as PageAnswer<E>));
      else if (!stale) throw errorFrom(res, owner);
      // The owner cannot answer and stale data is accepted: a copy here, or elsewhere.
      else
        for (const p of ps)
          sources.push(await this.staleSource<E>(q, p, req, local, errorFrom(res, owner)));
    }
    return json(200, this.pageAnswer(q, sources, limit));
  }

  /** A partition's page from a standby, here or at another instance; else `why`. */
  private async staleSource<E>(
    q: QueryStore,
    partition: number,
    req: QueryRequest,
    local: (copy: Copy) => Promise<Source<E>>,
    why: QueryError,
  ): Promise<Source<E>> {
    const copy = standbyCopy(this.ctx.replicas, q, partition);
    if (copy) return local(copy);
    const other = await this.fromStandbys(q, [partition], req);
    if (!other || other.status !== 200) throw why;
    return fromAnswer<E>(JSON.parse(other.body) as PageAnswer<E>);
  }

  private pageAnswer<E extends Entry | WindowEntry>(
    q: QueryStore,
    sources: Array<Source<E>>,
    limit: number,
  ): PageAnswer<E> {
    const all = sources
      .flatMap((s) => s.entries)
      .sort((a, b) => compareEntries(cursorOf(q, a), cursorOf(q, b)));
    const results = all.slice(0, limit);
    const more = all.length > limit || sources.some((s) => s.more);
    const servedBy = sources.flatMap((s) => s.servedBy).sort((a, b) => a.partition - b.partition);
    return {
      store: q.name,
      results,
      next: more && results.length ? encodeCursor(cursorOf(q, results[results.length - 1]!)) : null,
      stale: servedBy.some((s) => s.stale),
      servedBy,
    };
  }

  // --- freshness ------------------------------------------------------------------

  private async freshness(q: QueryStore, req: QueryRequest): Promise<QueryResponse> {
    const src = this.ctx.replicas;
    const out: FreshnessAnswer['partitions'] = [];
    const remote = new Map<string, number[]>();
    for (const p of this.partitionsOf(q, req.query)) {
      // Freshness describes the copy however it stands: a restoring task included.
      const here =
        activeCopy(src, q, p, true) ?? (req.forwarded ? standbyCopy(src, q, p) : undefined);
      if (here) out.push({ ...here.servedBy, positions: here.positions });
      else if (req.forwarded) throw this.notOwner(q, p);
      else {
        const owner = this.owner(q, p);
        if (typeof owner === 'string') remote.set(owner, [...(remote.get(owner) ?? []), p]);
        else out.push(unknownCopy(q, p, owner));
      }
    }
    for (const [owner, ps] of remote) {
      const res = await this.forward(owner, req, ps);
      if (res.status === 200) out.push(...(JSON.parse(res.body) as FreshnessAnswer).partitions);
      else for (const p of ps) out.push(unknownCopy(q, p, errorFrom(res, owner)));
    }
    if (!req.forwarded) await this.fillEnds(out);
    out.sort((a, b) => a.partition - b.partition);
    return json(200, { store: q.name, partitions: out } satisfies FreshnessAnswer);
  }

  private async fillEnds(parts: FreshnessAnswer['partitions']): Promise<void> {
    const topics = [...new Set(parts.flatMap((p) => p.positions.map((x) => x.changelogTopic)))];
    if (!topics.length) return;
    const ends = await this.ctx.ends(topics).catch(() => new Map<string, number>());
    for (const p of parts)
      for (const x of p.positions) x.end = ends.get(`${x.changelogTopic}:${p.partition}`) ?? x.end;
  }

  // --- the group ------------------------------------------------------------------

  private groupAnswer(): GroupAnswer {
    const g = this.ctx.group();
    return {
      applicationId: this.ctx.applicationId,
      endpoint: this.ctx.replicas.endpoint(),
      generation: g?.generation ?? null,
      rebalancing: this.ctx.rebalancing(),
      stores: this.ctx.stores().map((s) => ({
        name: s.name,
        kind: s.kind,
        keySerde: s.keySerdeName,
        valueSerde: s.valueSerdeName,
        partitions: s.partitions,
        windowSizeMs: s.windowSizeMs,
        ...(s.global ? { global: true } : {}),
      })),
      members: (g?.members ?? []).map((m) => ({
        endpoint: m.endpoint,
        active: m.active,
        standby: m.standby,
      })),
    };
  }

  /** The endpoint of the instance running `q`'s task for `partition`, or why there is none. */
  private owner(q: QueryStore, partition: number): string | QueryError {
    const task = `${q.subtopology}_${partition}`;
    const m = this.ctx.group()?.members.find((x) => x.active.includes(task));
    if (!m)
      return unavailable(
        'REBALANCING',
        `no instance runs task ${task} (partition ${partition} of ${q.name}) now: the group is rebalancing`,
      );
    if (!m.endpoint)
      return new QueryError(
        `the instance running task ${task} (partition ${partition} of ${q.name}) serves no queries: set applicationServer (MILLRACE_APPLICATION_SERVER) on every instance`,
        { code: 'OWNER_HAS_NO_ENDPOINT', status: 503 },
      );
    if (m.endpoint === this.ctx.replicas.endpoint())
      // The map says here, but the task is not (yet, or any more): the map is ahead or behind.
      return unavailable(
        'REBALANCING',
        `task ${task} (partition ${partition} of ${q.name}) is between instances`,
      );
    return m.endpoint;
  }

  private notOwner(q: QueryStore, partition: number): QueryError {
    return unavailable(
      'NOT_OWNER',
      `this instance does not run partition ${partition} of ${q.name} (it moved; the instance that forwarded the query had an older map)`,
      this.ctx.replicas.endpoint() ?? undefined,
    );
  }

  /** Asks the instances keeping standbys of `partitions` (stale answers), one after another. */
  private async fromStandbys(
    q: QueryStore,
    partitions: number[],
    req: QueryRequest,
  ): Promise<QueryResponse | undefined> {
    const tasks = partitions.map((p) => `${q.subtopology}_${p}`);
    const me = this.ctx.replicas.endpoint();
    let last: QueryResponse | undefined;
    for (const m of this.ctx.group()?.members ?? []) {
      if (!m.endpoint || m.endpoint === me || !tasks.every((t) => m.standby.includes(t))) continue;
      last = await this.forward(m.endpoint, req, partitions);
      if (last.status === 200) return last;
    }
    return last;
  }

  private async forward(
    endpoint: string,
    req: QueryRequest,
    partitions: number[],
  ): Promise<QueryResponse> {
    const url = urlOf(endpoint, req, partitions, true);
    try {
      const res = await this.fetch(url, {
        headers: { [FORWARDED_HEADER]: '1' },
        signal: AbortSignal.timeout(this.opts.forwardTimeoutMs ?? 10_000),
      });
      const headers: Record<string, string> = {};
      const retry = res.headers.get('retry-after');
      if (retry) headers['retry-after'] = retry;
      return {
        status: res.status,
        headers: { 'content-type': 'application/json', ...headers },
        body: await res.text(),
      };
    } catch (err) {
      const e = unavailable(
        'OWNER_UNREACHABLE',
        `${endpoint}, which runs the partition, did not answer (${(err as Error).message}); a rebalance will move its tasks if it is gone`,
        endpoint,
      );
      return json(503, e.toBody(), { 'retry-after': '1' });
    }
  }

  // --- parameters -----------------------------------------------------------------

  private store(name: string): QueryStore {
    const stores = this.ctx.stores();
    const q = stores.find((s) => s.name === name);
    if (!q)
      throw new QueryError(
        `no store "${name}" in ${this.ctx.applicationId}; stores: ${stores.map((s) => s.name).join(', ') || '(none)'}`,
        { code: 'UNKNOWN_STORE', status: 404 },
      );
    if (q.partitions < 1)
      throw unavailable('NOT_STARTED', `the instance has not learnt the partitions of ${name} yet`);
    return q;
  }

  private key(q: QueryStore, query: URLSearchParams): unknown {
    const hex = query.get('keyHex');
    if (hex !== null) return keyFromHex(hex, q.keySerde);
    const text = query.get('key');
    if (text === null)
      throw new QueryError('which key? add key=… (or keyHex=… for its bytes)', {
        code: 'BAD_KEY',
        status: 400,
      });
    return parseKey(text, q.keySerdeName);
  }

  private partitionOf(q: QueryStore, key: unknown, query: URLSearchParams): number {
    const explicit = query.get('partition');
    if (explicit !== null) return this.partitionNumber(q, explicit);
    let bytes: Buffer;
    try {
      bytes = q.keySerde.serialize(key);
    } catch (err) {
      throw new QueryError(
        `the key cannot be serialized for ${q.name}: ${(err as Error).message}`,
        {
          code: 'BAD_KEY',
          status: 400,
        },
      );
    }
    return partitionForKey(bytes, q.partitions);
  }

  private partitionNumber(q: QueryStore, text: string): number {
    const p = Number(text);
    if (!Number.isInteger(p) || p < 0 || p >= q.partitions)
      throw new QueryError(`partition ${text}: ${q.name} has partitions 0 to ${q.partitions - 1}`, {
        code: 'BAD_PARTITION',
        status: 400,
      });
    return p;
  }

  private partitionsOf(q: QueryStore, query: URLSearchParams): number[] {
    const list = query.get('partitions');
    if (list === null) return Array.from({ length: q.partitions }, (_, i) => i);
    return [
      ...new Set(
        list
          .split(',')
          .filter(Boolean)
          .map((p) => this.partitionNumber(q, p)),
      ),
    ];
  }

  private bounds(q: QueryStore, req: QueryRequest, op: Op): { fromHex?: string; toHex?: string } {
    if (op === 'all') return {};
    const hexOf = (name: 'from' | 'to') => {
      const hex = req.query.get(`${name}Hex`);
      if (hex !== null) return hex;
      const text = req.query.get(name);
      return text === null
        ? undefined
        : q.keySerde.serialize(parseKey(text, q.keySerdeName)).toString('hex');
    };
    const fromHex = hexOf('from');
    const toHex = hexOf('to');
    return {
      ...(fromHex !== undefined ? { fromHex } : {}),
      ...(toHex !== undefined ? { toHex } : {}),
    };
  }

  private times(query: URLSearchParams): { from: number; to: number } {
    const t = (name: string, dflt: number) => {
      const text = query.get(name);
      if (text === null || text === '') return dflt;
      const n = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
      if (!Number.isFinite(n))
        throw new QueryError(`${name}=${text}: write epoch milliseconds or an ISO time`, {
          code: 'BAD_TIME',
          status: 400,
        });
      return n;
    };
    return { from: t('from', 0), to: t('to', Number.MAX_SAFE_INTEGER) };
  }

  private limit(query: URLSearchParams): number {
    const text = query.get('limit');
    if (text === null) return DEFAULT_LIMIT;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
      throw new QueryError(`limit=${text}: write a whole number from 1 to ${MAX_LIMIT}`, {
        code: 'BAD_LIMIT',
        status: 400,
      });
    return n;
  }

  private cursor(query: URLSearchParams): Cursor | undefined {
    const text = query.get('cursor');
    return text ? decodeCursor(text) : undefined;
  }
}

const isStale = (query: URLSearchParams) =>
  ['ok', 'true', '1', 'yes'].includes(query.get('stale') ?? '');

/** The same query at another instance, for `partitions` (forwarded: without route=redirect). */
function urlOf(
  endpoint: string,
  req: QueryRequest,
  partitions: number[],
  forwarded: boolean,
): string {
  const query = new URLSearchParams(req.query);
  query.delete('route');
  if (forwarded) query.set('partitions', partitions.join(','));
  const qs = query.toString();
  return `http://${endpoint}${req.path}${qs ? `?${qs}` : ''}`;
}

function toSource<E>(page: PartitionPage<E>, limit: number): Source<E> {
  return {
    entries: page.entries.slice(0, limit),
    more: page.entries.length > limit,
    servedBy: [page.servedBy],
  };
}

function fromAnswer<E>(a: PageAnswer<E>): Source<E> {
  return { entries: a.results, more: a.next !== null, servedBy: a.servedBy };
}

function cursorOf(q: QueryStore, e: Entry | WindowEntry): Cursor {
  if (!('windowStart' in e)) return { partition: e.partition, keyHex: e.keyHex };
  const time = q.kind === 'session' ? (e.windowEnd ?? e.windowStart) : e.windowStart;
  return { partition: e.partition, keyHex: e.keyHex, time };
}

/** An error answer from another instance, as an error here (status, code and hint kept). */
function errorFrom(res: QueryResponse, endpoint: string): QueryError {
  let body: { error?: { code?: string; message?: string; retryAfterMs?: number } } = {};
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    /* not ours */
  }
  return new QueryError(body.error?.message ?? `${endpoint} answered ${res.status}`, {
    code: body.error?.code ?? 'OWNER_ERROR',
    status: res.status >= 400 ? res.status : 502,
    ...(body.error?.retryAfterMs !== undefined || res.status === 503
      ? { retryAfterMs: body.error?.retryAfterMs ?? 1000 }
      : {}),
    endpoint,
  });
}

function unknownCopy(
  q: QueryStore,
  partition: number,
  why: QueryError,
): FreshnessAnswer['partitions'][number] {
  return {
    partition,
    task: `${q.subtopology}_${partition}`,
    endpoint: why.endpoint ?? null,
    role: 'active',
    state: `unavailable: ${why.code}`,
    stale: true,
    lag: null,
    positions: [],
  };
}
