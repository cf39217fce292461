/**
 * Type-level tests of the public API, checked by `tsc -p test/types` (`npm run test:types`,
 * part of `npm test`). Each `@ts-expect-error` marks a line that must NOT compile: a
 * joiner, aggregator, reducer or serde of the wrong type. If such a line compiles, tsc
 * reports the directive as unused and the test fails. Nothing here runs.
 */
import {
  defineProcessor,
  joinWindows,
  keyValueStoreSpec,
  registerProcessor,
  session,
  sliding,
  TopologyBuilder,
  tumbling,
  untilTimeLimit,
  untilWindowCloses,
  type KStream,
  type KTable,
  type ProcessorContext,
  type KeyValueStore,
  type Serde,
  type Windowed,
} from '../../index.js';
import { TopologyTestDriver } from '../../testing.js';
import { z } from 'zod';

interface Click {
  user: string;
  page: string;
}
interface User {
  country: string;
}

const b = new TopologyBuilder('types');
const J = { key: 'string', value: 'json' } as const;

// --- record types follow from serde names, or are declared -------------------------
const words = b.stream('words', { key: 'string', value: 'string' });
words satisfies KStream<string, string>;
const counts = words.groupByKey().count();
counts satisfies KStream<string, number>;
const clicks = b.stream<string, Click>('clicks', J);
const users = b.table<string, User>('users', J);
// A json value is unknown until declared:
// @ts-expect-error: 'user' does not exist on unknown
b.stream('raw', J).mapValues((v) => v.user);

// --- serdes ---------------------------------------------------------------------------
counts.to('counts', { key: 'string', value: 'int64' });
// @ts-expect-error: counts are numbers, the string serde writes strings
counts.to('counts', { key: 'string', value: 'string' });
// @ts-expect-error: keys are strings, not int64
words.to('out', { key: 'int64', value: 'string' });
// @ts-expect-error: a string value cannot be written as float64
words.groupByKey({ keySerde: 'string', valueSerde: 'float64' });
words.to('out', { key: 'string', value: 'avro:words' }); // a registered serde: checked at run time
clicks.to('out', J); // json carries anything

// --- joiners --------------------------------------------------------------------------
clicks.join(users, (c, u) => ({ page: c.page, country: u.country }));
// @ts-expect-error: the joiner's first argument is a Click, not a User
clicks.join(users, (c: User, u: User) => c.country + u.country);
// @ts-expect-error: a left join's table value may be null
clicks.leftJoin(users, (c: Click, u: User) => c.page + u.country);
clicks.leftJoin(users, (c, u) => `${c.page} ${u?.country ?? '?'}`);
// @ts-expect-error: the table's keys are strings; these clicks are keyed by number
clicks.selectKey(() => 1).join(users, (c) => c);

// --- aggregators and reducers ---------------------------------------------------------
const perUser = clicks.groupByKey();
perUser.aggregate(
  () => 0,
  (_k, c, n) => n + c.page.length,
);
perUser.aggregate(
  () => 0,
  // @ts-expect-error: the aggregate (from init) is a number, not a string
  (_k, c, n: string) => n + c.page,
);
perUser.aggregate(
  () => 0,
  // @ts-expect-error: the adder must return the aggregate's type
  (_k, c) => c.page,
);
// @ts-expect-error: a reducer combines two values of the stream's type
perUser.reduce((a: number, c: Click) => a + c.page.length);
perUser.reduce((a, c) => (a.page > c.page ? a : c)) satisfies KStream<string, Click>;

// --- windows --------------------------------------------------------------------------
const perMinute = perUser.windowedBy(tumbling(60_000)).count();
perMinute satisfies KStream<string, Windowed<number>>;
// @ts-expect-error: a windowed count's value is a Windowed<number>, not a number
perMinute.mapValues((n: number) => n + 1);

// --- session and sliding windows, suppress ---------------------------------------------
const visits = perUser.windowedBy(session(1_800_000, 60_000));
visits.count() satisfies KStream<string, Windowed<number>>;
visits.count({ emit: 'every-update' }) satisfies KStream<string, Windowed<number | null>>;
visits.aggregate(
  () => [] as string[],
  (_k, c, pages) => [...pages, c.page],
  (_k, a, b) => [...a, ...b],
);
// @ts-expect-error: a session aggregation needs a merger (two sessions one record joins)
visits.aggregate(
  () => 0,
  (_k, _c, n) => n + 1,
);
visits.aggregate(
  () => 0,
  (_k, _c, n) => n + 1,
  // @ts-expect-error: the merger combines two aggregates (numbers)
  (_k, a: string, b: string) => a + b,
);
perUser.windowedBy(sliding(60_000)).aggregate(
  () => 0,
  (_k, _c, n) => n + 1,
  // @ts-expect-error: sliding windows never merge: the third argument is the options
  (_k: string, a: number, b: number) => a + b,
);
perUser.windowedBy(tumbling(60_000)).count({ emit: 'every-update' }).suppress(untilWindowCloses());
perUser.count().suppress(untilTimeLimit(60_000));
// @ts-expect-error: a key-value aggregation has no windows to close
perUser.count().suppress(untilWindowCloses());
// @ts-expect-error: suppress follows an aggregation, not any stream
clicks.suppress(untilTimeLimit(1_000));

// --- stream-stream, table-table and global joins --------------------------------------
const views = b.stream<string, { page: string; ms: number }>('views', J);
clicks.join(views, (c, v) => c.page === v.page, joinWindows(60_000));
// @ts-expect-error: a stream-stream join needs join windows
clicks.join(views, (c, v) => c.page === v.page);
// @ts-expect-error: the other stream's values are views, not clicks
clicks.join(views, (c: Click, v: Click) => c.page === v.page, joinWindows(60_000));
clicks.outerJoin(views, (c, v) => `${c?.page ?? '-'} ${v?.ms ?? 0}`, joinWindows(60_000));
// @ts-expect-error: in an outer join either side may be missing
clicks.outerJoin(views, (c: Click, v) => `${c.page} ${v?.ms ?? 0}`, joinWindows(60_000));
// @ts-expect-error: join windows, not time windows
clicks.join(views, (c, v) => [c, v], tumbling(60_000));
const tiers = b.table<string, { tier: string }>('tiers', J);
users.outerJoin(tiers, (u, t) => `${u?.country ?? '-'} ${t?.tier ?? '-'}`) satisfies KTable<
  string,
  string
>;
// @ts-expect-error: a left join's other value may be null
users.leftJoin(tiers, (u, t: { tier: string }) => u.country + t.tier);
users.filter((u) => u.country === 'NO').mapValues((u) => u.country.length) satisfies KTable<
  string,
  number
>;
const products = b.globalTable<string, { name: string }>('products', J);
clicks.join(
  products,
  (_k, c) => c.page,
  (c, p) => `${c.user} ${p.name}`,
);
// @ts-expect-error: the global table is keyed by strings; this key function gives numbers
clicks.join(
  products,
  (_k, c) => c.page.length,
  (c, p) => `${c.user} ${p.name}`,
);

// --- processors, stores and serdes ----------------------------------------------------
const stringSerde: Serde<string> = {
  serialize: (s) => Buffer.from(s),
  deserialize: (b) => b.toString(),
};
// @ts-expect-error: a Serde<string> cannot serialize numbers
stringSerde.serialize(1);
const tally = defineProcessor({
  type: 'tally',
  description: 'counts per key',
  options: z.object({}).strict(),
  stores: (_o, node) => ({ tallies: keyValueStoreSpec<string, number>({ name: `${node}-t` }) }),
  create: () => {
    let ctx: ProcessorContext<string, number, { tallies: KeyValueStore<string, number> }>;
    return {
      init: (c) => void (ctx = c),
      process: (r) => {
        const key = String(r.key);
        const n = (ctx.stores.tallies.get(key) ?? 0) + 1;
        ctx.stores.tallies.put(key, n);
        // @ts-expect-error: the store holds numbers
        ctx.stores.tallies.put(key, 'one more');
        ctx.forward({ key, value: n, timestamp: r.timestamp });
      },
    };
  },
});
registerProcessor(tally);

// --- the test driver ------------------------------------------------------------------
export async function driverTypes(): Promise<void> {
  const d = await TopologyTestDriver.create(b.build());
  await d.input<string, Click>('clicks').pipe('ann', { user: 'ann', page: '/' });
  // @ts-expect-error: the input topic was declared to take Clicks
  await d.input<string, Click>('clicks').pipe('ann', { country: 'NO' });
  const out: Array<[string, number]> = d.output<string, number>('counts').readKeyValues();
  void out;
  // @ts-expect-error: a key-value store of numbers does not give strings
  const s: string | undefined = d.keyValueStore<string, number>('count-store').get('a');
  void s;
}
