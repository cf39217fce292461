import { queryEndpoints, withAdmin } from '../../runtime/admin/index.js';
import {
  QueryClient,
  QueryFailedError,
  type Entry,
  type FreshnessAnswer,
  type KeyAnswer,
  type PageAnswer,
  type ServedBy,
  type WindowEntry,
} from '../../runtime/query/index.js';
import { resolveTarget, TARGET_FLAGS, TARGET_HELP } from '../app-target.js';
import { parseArgs } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { table } from '../table.js';
import type { Command } from '../command.js';

const USAGE =
  'millrace query <topology.yaml | app.ts | app folder> <store> <key | --range A..B | --all | --freshness> [--window FROM..TO] [--url H:P,…] [--stale] [--limit N] [--cursor C] [--direct] [--json] [--app-id ID] [--brokers H:P,…]';

export const queryCommand: Command = {
  name: 'query',
  summary:
    "Read a running app's stores: a key, a range, everything, windows of a key or a time range, freshness",
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv, {
      values: [...TARGET_FLAGS, 'range', 'window', 'url', 'limit', 'cursor', 'wait'],
      booleans: ['all', 'freshness', 'stale', 'direct', 'json'],
    });
    if (a.flags.help) return this.help();
    const [target, store, key, ...rest] = a.positionals;
    const scans = ['range', 'all', 'freshness'].filter((f) => a.flags[f] !== undefined);
    const asked = scans.length + (key !== undefined || a.flags.window !== undefined ? 1 : 0);
    if (!target || !store || rest.length || asked !== 1)
      throw new UsageError(
        `${!target || !store ? 'which app and store?' : 'one thing at a time: a key (with or without --window), --window alone, --range, --all or --freshness'} — usage: ${USAGE}`,
      );
    const t = await resolveTarget(target, a.flags);
    const endpoints = await endpointsOf(a.flags.url, t.brokers, t.applicationId);
    const client = new QueryClient({
      endpoints,
      stale: a.flags.stale === true,
      direct: a.flags.direct === true,
      retryForMs: a.flags.wait !== undefined ? seconds(a.flags.wait) : 30_000,
    });
    const page = {
      ...(a.flags.limit !== undefined ? { limit: positive('limit', a.flags.limit) } : {}),
      ...(typeof a.flags.cursor === 'string' ? { cursor: a.flags.cursor } : {}),
    };
    let answer: unknown;
    try {
      if (a.flags.freshness) answer = await client.freshness(store);
      else if (a.flags.window !== undefined) {
        const [from, to] = bounds(a.flags.window, 'window');
        answer = await client.windows(store, {
          ...(key !== undefined ? { key: await typedKey(client, store, key) } : {}),
          ...(from ? { from: time(from) } : {}),
          ...(to ? { to: time(to) } : {}),
          ...page,
        });
      } else if (key !== undefined)
        answer = await client.get(store, await typedKey(client, store, key));
      else if (a.flags.all) answer = await client.all(store, page);
      else {
        const [from, to] = bounds(a.flags.range, 'range');
        answer = await client.range(store, {
          ...(from ? { from: await typedKey(client, store, from) } : {}),
          ...(to ? { to: await typedKey(client, store, to) } : {}),
          ...page,
        });
      }
    } catch (err) {
      if (err instanceof QueryFailedError) {
        process.stderr.write(`millrace query: ${err.message}\n`);
        return err.status >= 400 && err.status < 500 ? EXIT.user : EXIT.external;
      }
      throw err;
    }
    process.stdout.write(a.flags.json ? JSON.stringify(answer, null, 2) + '\n' : format(answer));
    return EXIT.ok;
  },
  help() {
    process.stdout.write(
      `${USAGE}\n\n${this.summary}.\n\n` +
        `Any instance answers for any key: it reads its own copy or asks the instance that runs the key's task.\n` +
        `  <key>              a key of a key-value store (text; numbers for int64 keys; JSON for json and Avro keys)\n` +
        `  --range A..B       entries with A ≤ key ≤ B in the store's byte order (A.. or ..B leave a side open)\n` +
        `  --all              every entry of a key-value store\n` +
        `  --window FROM..TO  windows starting in [FROM, TO] (epoch ms or ISO time; either side may be open) of\n` +
        `                     <key>, or of every key without one; session stores: sessions ending then\n` +
        `  --freshness        per partition: which instance holds it, its changelog position and the changelog's end\n` +
        `  --limit N          entries per page (default 100, at most 10 000); --cursor C gives the next page\n` +
        `  --stale            accept copies that may be behind (standbys, restoring tasks): flagged stale\n` +
        `  --direct           ask the instance holding the key (redirected) rather than through the first one\n` +
        `  --url H:P,…        instances to ask (default MILLRACE_QUERY_URL, else the group's members' endpoints)\n` +
        `  --wait SECONDS     keep asking while the answer is "retry" (rebalance, restore); default 30\n` +
        `  --json             print the answer as JSON (with which copy served each partition)\n` +
        TARGET_HELP +
        `Exit codes: 0 answered (a key that is absent too), 2 bad arguments or store, 3 no instance could answer.\n`,
    );
    return EXIT.ok;
  },
};

async function endpointsOf(
  flag: string | true | undefined,
  brokers: string[],
  applicationId: string,
): Promise<string[]> {
  const given = typeof flag === 'string' ? flag : process.env.MILLRACE_QUERY_URL;
  if (given)
    return given
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const found = await withAdmin(brokers, `${applicationId}-query`, (admin) =>
    queryEndpoints(admin, applicationId),
  );
  if (!found.length)
    throw new UsageError(
      `no instance of ${applicationId} advertises a query endpoint: is it running (millrace run serves queries on its --metrics-port)? Or pass --url host:port`,
    );
  return found;
}

/** The key as text, read by the store's key serde on the server: JSON for non-string keys is sent as given. */
async function typedKey(client: QueryClient, store: string, text: string): Promise<unknown> {
  const serde = (await client.group()).stores.find((s) => s.name === store)?.keySerde;
  if (serde === 'int64' || serde === 'float64') return Number(text);
  if (serde === 'string' || serde === undefined) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // a bare word for a JSON key: the string
  }
}

function bounds(v: string | true | undefined, flag: string): [string, string] {
  if (typeof v !== 'string' || !v.includes('..'))
    throw new UsageError(`--${flag}: write FROM..TO (either side may be empty), e.g. a..m`);
  const i = v.indexOf('..');
  return [v.slice(0, i), v.slice(i + 2)];
}

function time(text: string): number {
  const n = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n))
    throw new UsageError(`--window: "${text}" is neither epoch ms nor an ISO time`);
  return n;
}

function positive(flag: string, v: string | true): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag}: write a whole number ≥ 1`);
  return n;
}

function seconds(v: string | true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError('--wait: write seconds, e.g. 30');
  return n * 1000;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const source = (s: ServedBy) =>
  `${s.endpoint ?? '?'} ${s.role}${s.stale ? ` (stale, ${s.lag ?? '?'} behind)` : ''}`;

/** The answer for a terminal. */
export function format(answer: unknown): string {
  const a = answer as Partial<KeyAnswer & PageAnswer<Entry | WindowEntry> & FreshnessAnswer>;
  if ('found' in a) {
    const k = a as KeyAnswer;
    return `${show(k.key)}: ${k.found ? show(k.value) : '(absent)'}   [partition ${k.partition}, ${source(k.servedBy)}]\n`;
  }
  if (a.partitions)
    return table(
      ['PARTITION', 'TASK', 'HOLDER', 'ROLE', 'STATE', 'STORE', 'POSITION', 'END', 'BEHIND'],
      a.partitions.flatMap((p) =>
        (p.positions.length ? p.positions : [{ store: '-', position: null, end: null }]).map(
          (x) => [
            p.partition,
            p.task,
            p.endpoint ?? '-',
            p.role,
            p.state,
            x.store,
            x.position ?? '-',
            x.end ?? '-',
            x.position !== null && x.end !== null ? Math.max(0, x.end - x.position) : '-',
          ],
        ),
      ),
    );
  const page = a as PageAnswer<Entry | WindowEntry>;
  const windowed = page.results.some((e) => 'windowStart' in e);
  const rows = page.results.map((e) =>
    'windowStart' in e
      ? [
          show(e.key),
          new Date(e.windowStart).toISOString(),
          e.windowEnd === null ? '-' : new Date(e.windowEnd).toISOString(),
          show(e.value),
          e.partition,
        ]
      : [show(e.key), show(e.value), e.partition],
  );
  const out = [
    rows.length
      ? table(
          windowed
            ? ['KEY', 'WINDOW START', 'WINDOW END', 'VALUE', 'PARTITION']
            : ['KEY', 'VALUE', 'PARTITION'],
          rows,
        )
      : '(no entries)\n',
  ];
  if (page.stale)
    out.push(
      `stale: ${page.servedBy
        .filter((s) => s.stale)
        .map((s) => `partition ${s.partition} from ${source(s)}`)
        .join('; ')}\n`,
    );
  if (page.next) out.push(`more: --cursor ${page.next}\n`);
  return out.join('');
}
