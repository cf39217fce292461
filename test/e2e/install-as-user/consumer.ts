// A TypeScript project using millrace's public types, checked with `tsc --noEmit --strict`
// against the installed package's declarations (and those of the packages they name).
import { z } from 'zod';
import {
  ConfigError,
  StreamsApp,
  TopologyBuilder,
  defineProcessor,
  registerProcessor,
  tumbling,
  windowStoreSpec,
  type AppState,
  type ProcessorContext,
  type StreamsConfigInput,
  type WindowStore,
} from 'millrace';
import { TopologyTestDriver, type TestRecord } from 'millrace/testing';

interface Click {
  user: string;
  page: string;
}

export const dedupe = defineProcessor({
  type: 'dedupe-clicks',
  description: 'Passes the first click of each key per window of retentionMs',
  options: z.object({ retentionMs: z.number().int().positive().default(600_000) }).strict(),
  stores: (o, node) => ({
    seen: windowStoreSpec<string, number>({
      name: `${node}-seen`,
      valueSerde: 'int64',
      retentionMs: o.retentionMs,
    }),
  }),
  outputs: ['duplicates'],
  create: (o) => {
    let ctx: ProcessorContext<string, Click, { seen: WindowStore<string, number> }>;
    return {
      init(c) {
        ctx = c;
      },
      process(r) {
        if (r.key === null) return ctx.deadLetter(r, 'null_key');
        const window = r.timestamp - (r.timestamp % o.retentionMs);
        if (ctx.stores.seen.fetch(r.key, window) !== undefined) return ctx.forward(r, 'duplicates');
        ctx.stores.seen.put(r.key, 1, window);
        ctx.forward(r);
      },
    };
  },
});
registerProcessor(dedupe);

const b = new TopologyBuilder('typed-clicks');
b.stream('clicks', { key: 'string', value: 'json' })
  .process(dedupe, { name: 'dedupe' })
  .groupByKey({ keySerde: 'string', valueSerde: 'json' })
  .windowedBy(tumbling(60_000, 10_000))
  .count({ name: 'per-minute' })
  .to('clicks-per-minute', { key: 'string', value: 'json' });
const topology = b.build();

const config: StreamsConfigInput = {
  applicationId: 'typed-clicks',
  bootstrapServers: '127.0.0.1:9092',
  processingGuarantee: 'exactly_once',
  commitInterval: '100ms',
};
export const app = new StreamsApp(topology, config);
export const state: AppState = app.state;

export async function firstWindow(): Promise<Array<TestRecord<string, unknown>>> {
  const driver = await TopologyTestDriver.create(topology);
  const clicks = driver.input<string, Click>('clicks');
  await clicks.pipe('c1', { user: 'ann', page: '/' }, { timestamp: 1_000 });
  await clicks.pipe('c2', { user: 'ann', page: '/' }, { timestamp: 75_000 });
  const out = driver.output<string, unknown>('clicks-per-minute').readAll();
  await driver.close();
  return out;
}

export const isConfigError = (e: unknown): e is ConfigError => e instanceof ConfigError;
