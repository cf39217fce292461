/**
 * The query service's logic, without Kafka: two instances ("a:1" and "b:2"), each a
 * QueryService over in-memory stores of the partitions it runs, joined by a fetch that hands
 * a URL to the instance it names. What a key, a range, all entries and windows answer on
 * either instance; paging across partitions and instances; what a rebalance, a restore and
 * a gone owner answer, and stale reads from a standby. The same service on the real broker
 * and over HTTP: test/integration/interactive-queries.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  int64Serde,
  openKeyValueStore,
  openWindowStore,
  stringSerde,
  type KeyValueStore,
  type WindowStore,
} from '../../state/index.js';
import type { MemberEndpoint } from '../group-protocol.js';
import type { QueryStore, ReplicaSource } from './local.js';
import { partitionForKey } from './partitioner.js';
import { QueryClient, QueryFailedError } from './client.js';
import { FORWARDED_HEADER, QueryService, type QueryContext } from './service.js';
import type { Entry, FreshnessAnswer, KeyAnswer, PageAnswer, WindowEntry } from './types.js';

const PARTITIONS = 4;
const KEYS = Array.from({ length: 40 }, (_, i) => `user-${i}`);
const partitionOf = (k: string) => partitionForKey(Buffer.from(k), PARTITIONS);
const countOf = (k: string) => Number(k.slice(5)) + 1;
const MINUTE = 60_000;

const STORES: QueryStore[] = [
  {
    name: 'counts',
    kind: 'keyValue',
    keySerdeName: 'string',
    valueSerdeName: 'int64',
    keySerde: stringSerde as QueryStore['keySerde'],
    subtopology: 0,
    partitions: PARTITIONS,
    windowSizeMs: null,
  },
  {
    name: 'per-minute',
    kind: 'window',
    keySerdeName: 'string',
    valueSerdeName: 'int64',
    keySerde: stringSerde as QueryStore['keySerde'],
    subtopology: 0,
    partitions: PARTITIONS,
    windowSizeMs: MINUTE,
  },
];

interface FakeTask {
  id: string;
  state: string;
  engine: { stores: Array<{ name: string; changelogTopic: string; store: unknown }> };
  stats: { restoreRemaining: number };
  changelogPositions: Map<string, number>;
}

/** The stores of one partition: counts of its keys, and per key three one-minute windows. */
async function partitionStores(p: number): Promise<FakeTask['engine']['stores']> {
  const ctx = {
    applicationId: 'app',
    taskId: `0_${p}`,
    stateDir: '/nonexistent',
    backend: 'memory' as const,
  };
  const counts: KeyValueStore<string, number> = await openKeyValueStore(
    {
      name: 'counts',
      kind: 'keyValue',
      keySerde: stringSerde,
      valueSerde: int64Serde,
      logged: false,
      cache: false,
    },
    ctx,
  );
  const windows: WindowStore<string, number> = await openWindowStore(
    {
      name: 'per-minute',
      kind: 'window',
      keySerde: stringSerde,
      valueSerde: int64Serde,
      logged: false,
      cache: false,
      retentionMs: 3_600_000,
      segmentMs: MINUTE,
    },
    ctx,
  );
  for (const k of KEYS.filter((x) => partitionOf(x) === p)) {
    counts.put(k, countOf(k));
    for (const m of [0, 1, 2]) windows.put(k, countOf(k) * 10 + m, m * MINUTE);
  }
  return [
    { name: 'counts', changelogTopic: 'app-counts-changelog', store: counts },
    { name: 'per-minute', changelogTopic: 'app-per-minute-changelog', store: windows },
  ];
}

/** Two instances: a runs partitions 0 and 1, b runs 2 and 3 (and keeps standbys of 0 and 1). */
async function cluster() {
  const stores = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, p) => partitionStores(p)),
  );
  const task = (p: number, state = 'running'): FakeTask => ({
    id: `0_${p}`,
    state,
    engine: { stores: stores[p]! },
    stats: { restoreRemaining: state === 'restoring' ? 123 : 0 },
    changelogPositions: new Map([['counts', 100 + p]]),
  });
  const members: MemberEndpoint[] = [
    { endpoint: 'a:1', client: 'a', active: ['0_0', '0_1'], standby: [] },
    { endpoint: 'b:2', client: 'b', active: ['0_2', '0_3'], standby: ['0_0', '0_1'] },
  ];
  const state = {
    a: { tasks: [task(0), task(1)], standbys: [] as unknown[], rebalancing: false, up: true },
    b: {
      tasks: [task(2), task(3)],
      standbys: [0, 1].map((p) => ({
        id: `0_${p}`,
        state: 'running',
        engine: { stores: stores[p]! },
        lag: 7,
        stores: [{ name: 'counts', position: 93 + p, end: 100 + p }],
      })),
      rebalancing: false,
      up: true,
    },
    members,
  };
  const services = new Map<string, QueryService>();
  const fetchStub = (async (url: string, init?: RequestInit) => {
    const u = new URL(url);
    const name = u.host === 'a:1' ? 'a' : 'b';
    if (!state[name].up) throw new TypeError('fetch failed: connection refused');
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const r = await services.get(u.host)!.handle({
      path: u.pathname,
      query: u.searchParams,
      forwarded: headers[FORWARDED_HEADER] !== undefined,
    });
    return new Response(r.body, { status: r.status, headers: r.headers });
  }) as typeof fetch;
  for (const [name, endpoint] of [
    ['a', 'a:1'],
    ['b', 'b:2'],
  ] as const) {
    const me = state[name];
    const replicas: ReplicaSource = {
      endpoint: () => endpoint,
      activeTasks: () => me.tasks,
      standbyTasks: () => me.standbys as ReturnType<ReplicaSource['standbyTasks']>,
      fresh: (id) => !me.rebalancing && me.tasks.some((t) => t.id === id && t.state === 'running'),
    };
    const ctx: QueryContext = {
      applicationId: 'app',
      stores: () => STORES,
      replicas,
      group: () => ({ generation: 5, members: state.members }),
      rebalancing: () => me.rebalancing,
      ends: async (topics) =>
        new Map(
          topics.flatMap((t) =>
            Array.from({ length: PARTITIONS }, (_, p) => [`${t}:${p}`, 100 + p] as const),
          ),
        ),
    };
    services.set(endpoint, new QueryService(ctx, { fetch: fetchStub }));
  }
  const ask = async <T>(host: 'a:1' | 'b:2', path: string) => {
    const u = new URL(`http://${host}${path}`);
    const r = await services
      .get(host)!
      .handle({ path: u.pathname, query: u.searchParams, forwarded: false });
    return { status: r.status, headers: r.headers, body: JSON.parse(r.body) as T };
  };
  return { state, ask, task, fetchStub };
}

const ownerOf = (k: string) => (partitionOf(k) < 2 ? 'a:1' : 'b:2');

describe('interactive queries (the service, two instances in memory)', () => {
  it('answers a key on either instance with the owner’s value, saying which copy served it', async () => {
    const { ask } = await cluster();
    expect(new Set(KEYS.map(ownerOf))).toEqual(new Set(['a:1', 'b:2'])); // keys on both
    for (const k of KEYS)
      for (const host of ['a:1', 'b:2'] as const) {
        const r = await ask<KeyAnswer>(host, `/stores/counts/get?key=${k}`);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({
          key: k,
          found: true,
          value: countOf(k),
          stale: false,
          partition: partitionOf(k),
        });
        expect(r.body.servedBy).toMatchObject({
          endpoint: ownerOf(k),
          role: 'active',
          stale: false,
        });
      }
    const absent = await ask<KeyAnswer>('b:2', '/stores/counts/get?key=nobody');
    expect(absent.body).toMatchObject({ found: false, value: null });
  });

  it('pages through all entries and ranges in key-byte order across partitions and instances', async () => {
    const { ask } = await cluster();
    const sorted = [...KEYS].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    for (const host of ['a:1', 'b:2'] as const) {
      const seen: Entry[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: { body: PageAnswer<Entry> } = await ask(
          host,
          `/stores/counts/all?limit=7${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(r.body.results.length).toBeLessThanOrEqual(7);
        seen.push(...r.body.results);
        cursor = r.body.next;
        pages++;
      } while (cursor && pages < 20);
      expect(pages).toBe(Math.ceil(KEYS.length / 7));
      expect(seen.map((e) => e.key)).toEqual(sorted);
      expect(seen.map((e) => e.value)).toEqual(sorted.map(countOf));
    }
    const range = await ask<PageAnswer<Entry>>('a:1', '/stores/counts/range?from=user-2&to=user-3');
    expect(range.body.results.map((e) => e.key)).toEqual(
      sorted.filter((k) => k >= 'user-2' && k <= 'user-3'),
    );
    expect(range.body.next).toBeNull();
    expect(range.body.servedBy.map((s) => s.endpoint)).toEqual(['a:1', 'a:1', 'b:2', 'b:2']);
  });

  it('fetches a key’s windows in a time range, and every key’s windows page by page in time order', async () => {
    const { ask } = await cluster();
    const k = KEYS.find((x) => ownerOf(x) === 'b:2')!;
    const one = await ask<PageAnswer<WindowEntry>>(
      'a:1',
      `/stores/per-minute/window?key=${k}&from=${MINUTE}&to=${2 * MINUTE}`,
    );
    expect(one.body.results.map((w) => [w.key, w.windowStart, w.windowEnd, w.value])).toEqual([
      [k, MINUTE, 2 * MINUTE, countOf(k) * 10 + 1],
      [k, 2 * MINUTE, 3 * MINUTE, countOf(k) * 10 + 2],
    ]);
    const seen: WindowEntry[] = [];
    let cursor: string | null = null;
    do {
      const r: { body: PageAnswer<WindowEntry> } = await ask(
        'b:2',
        `/stores/per-minute/window?from=0&to=${MINUTE}&limit=9${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...r.body.results);
      cursor = r.body.next;
    } while (cursor);
    const sorted = [...KEYS].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(seen.map((w) => `${w.windowStart}/${w.key}`)).toEqual([
      ...sorted.map((x) => `0/${x}`),
      ...sorted.map((x) => `${MINUTE}/${x}`),
    ]);
    const wrong = await ask('a:1', `/stores/counts/window?key=${k}`);
    expect(wrong.status).toBe(400);
  });

  it('during a rebalance or a restore says so with a retry hint; stale=ok reads a standby, flagged', async () => {
    const { state, ask, task } = await cluster();
    const k = KEYS.find((x) => partitionOf(x) === 0)!;
    // a restores partition 0: asked directly, or through b, the answer is 503 RESTORING.
    state.a.tasks[0] = task(0, 'restoring');
    for (const host of ['a:1', 'b:2'] as const) {
      const r = await ask<{ error: { code: string; retriable: boolean; retryAfterMs: number } }>(
        host,
        `/stores/counts/get?key=${k}`,
      );
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.body.error).toMatchObject({
        code: 'RESTORING',
        retriable: true,
        retryAfterMs: 1000,
      });
    }
    // stale=ok: a answers from its restoring copy, flagged with how much it has left.
    const stale = await ask<KeyAnswer>('a:1', `/stores/counts/get?key=${k}&stale=ok`);
    expect(stale.body).toMatchObject({
      found: true,
      stale: true,
      servedBy: { role: 'active', state: 'restoring', lag: 123 },
    });
    // The group map has no owner (a rebalance): 503 REBALANCING; with stale=ok b's standby answers.
    state.members = state.members.map((m) => ({
      ...m,
      active: m.active.filter((t) => t !== '0_0'),
    }));
    state.a.tasks.shift();
    const refused = await ask<{ error: { code: string } }>('b:2', `/stores/counts/get?key=${k}`);
    expect([refused.status, refused.body.error.code]).toEqual([503, 'REBALANCING']);
    const fromStandby = await ask<KeyAnswer>('b:2', `/stores/counts/get?key=${k}&stale=ok`);
    expect(fromStandby.body).toMatchObject({
      value: countOf(k),
      stale: true,
      servedBy: { endpoint: 'b:2', role: 'standby', lag: 7 },
    });
    const scan = await ask<PageAnswer<Entry>>('a:1', '/stores/counts/all?limit=100&stale=ok');
    expect(scan.body.results).toHaveLength(KEYS.length);
    expect(scan.body.stale).toBe(true);
  });

  it('an owner that does not answer: 503 OWNER_UNREACHABLE naming it; stale=ok falls back to a standby', async () => {
    const { state, ask } = await cluster();
    state.a.up = false;
    const k = KEYS.find((x) => partitionOf(x) === 1)!;
    const r = await ask<{ error: { code: string; endpoint: string } }>(
      'b:2',
      `/stores/counts/get?key=${k}`,
    );
    expect([r.status, r.body.error.code, r.body.error.endpoint]).toEqual([
      503,
      'OWNER_UNREACHABLE',
      'a:1',
    ]);
    const stale = await ask<KeyAnswer>('b:2', `/stores/counts/get?key=${k}&stale=ok`);
    expect(stale.body).toMatchObject({
      value: countOf(k),
      stale: true,
      servedBy: { role: 'standby' },
    });
  });

  it('redirects to the owner when asked to, and reports freshness of every partition', async () => {
    const { ask } = await cluster();
    const k = KEYS.find((x) => ownerOf(x) === 'b:2')!;
    const r = await ask<{ redirect: string }>('a:1', `/stores/counts/get?key=${k}&route=redirect`);
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe(`http://b:2/stores/counts/get?key=${k}`);
    const f = await ask<FreshnessAnswer>('a:1', '/stores/counts/freshness');
    expect(
      f.body.partitions.map((p) => [
        p.partition,
        p.endpoint,
        p.role,
        p.positions[0]?.position,
        p.positions[0]?.end,
      ]),
    ).toEqual([
      [0, 'a:1', 'active', 100, 100],
      [1, 'a:1', 'active', 101, 101],
      [2, 'b:2', 'active', 102, 102],
      [3, 'b:2', 'active', 103, 103],
    ]);
  });

  it('names what is wrong with a request', async () => {
    const { ask } = await cluster();
    const cases: Array<[string, number, string]> = [
      ['/stores/nope/get?key=x', 404, 'UNKNOWN_STORE'],
      ['/stores/counts/get', 400, 'BAD_KEY'],
      ['/stores/counts/all?limit=0', 400, 'BAD_LIMIT'],
      ['/stores/counts/all?cursor=garbage', 400, 'BAD_CURSOR'],
      ['/stores/counts/bogus', 404, 'NOT_FOUND'],
      ['/stores/per-minute/window?from=yesterday', 400, 'BAD_TIME'],
    ];
    for (const [path, status, code] of cases) {
      const r = await ask<{ error: { code: string; message: string } }>('a:1', path);
      expect([path, r.status, r.body.error.code]).toEqual([path, status, code]);
      expect(r.body.error.message.length).toBeGreaterThan(10);
    }
    const g = await ask<{ stores: Array<{ name: string }>; members: unknown[] }>('a:1', '/stores');
    expect(g.body.stores.map((s) => s.name)).toEqual(['counts', 'per-minute']);
    expect(g.body.members).toHaveLength(2);
  });
  it('the typed client: moves on from an instance that does not answer, pages, and asks again while told to retry', async () => {
    const { state, fetchStub, task } = await cluster();
    state.a.up = false;
    const client = new QueryClient({
      endpoints: ['a:1', 'http://b:2/'],
      fetch: fetchStub,
      retryForMs: 0,
    });
    const k = KEYS.find((x) => ownerOf(x) === 'b:2')!;
    expect(await client.get<string, number>('counts', k)).toMatchObject({
      key: k,
      value: countOf(k),
    });
    state.a.up = true;
    const keys: string[] = [];
    for await (const e of client.entries<string, number>('counts', { limit: 6 })) keys.push(e.key);
    expect(keys.sort()).toEqual([...KEYS].sort());
    // A restore that ends while the client waits: 503 RESTORING, then the value.
    const k0 = KEYS.find((x) => partitionOf(x) === 0)!;
    state.a.tasks[0] = task(0, 'restoring');
    const refused = await client.get('counts', k0).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QueryFailedError);
    expect(refused).toMatchObject({ code: 'RESTORING', retriable: true, status: 503 });
    const patient = new QueryClient({ endpoints: ['b:2'], fetch: fetchStub, retryForMs: 10_000 });
    setTimeout(() => (state.a.tasks[0] = task(0)), 300);
    const t0 = Date.now();
    expect(await patient.get<string, number>('counts', k0)).toMatchObject({ value: countOf(k0) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // waited the Retry-After (1 s)
  });
});
