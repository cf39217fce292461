import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TopologyTestDriver } from '../runtime/testing/driver.js';
import type { WindowStore } from '../state/api.js';
import { buildTopology, parseTopology, TopologyBuilder } from '../topology/index.js';
import type { ProcessorContext, ProcessorCounter } from './api.js';
import './index.js';
import {
  defineProcessor,
  keyValueStoreSpec,
  processorRegistry,
  registerProcessor,
  windowStoreSpec,
} from './registry.js';

/** A dedupe processor as a user would write one: typed store by role, a named output, a counter. */
const dedupe = defineProcessor({
  type: 'test-dedupe',
  description:
    'Passes the first record of each key per retention; repeats go to output "duplicates"',
  options: z.object({ retentionMs: z.number().int().positive().default(60_000) }).strict(),
  stores: (o, node) => ({
    seen: windowStoreSpec<string, number>({
      name: `${node}-seen`,
      valueSerde: 'int64',
      retentionMs: o.retentionMs,
    }),
  }),
  outputs: ['duplicates'],
  create: () => {
    let ctx: ProcessorContext<string, unknown, { seen: WindowStore<string, number> }>;
    let dropped: ProcessorCounter;
    return {
      init(c) {
        ctx = c;
        dropped = c.metrics.counter('duplicates', 'Records seen before');
      },
      process(r) {
        if (r.key === null) return ctx.deadLetter(r, 'null_key');
        const seen: number | undefined = ctx.stores.seen.fetch(r.key, 0);
        if (seen !== undefined) {
          dropped.inc();
          ctx.forward(r, 'duplicates');
          return;
        }
        ctx.stores.seen.put(r.key, 1, 0);
        ctx.forward(r);
      },
    };
  },
});

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

describe('processor definitions', () => {
  it('give processors typed stores by role, named outputs, dead letters and counters', async () => {
    const b = new TopologyBuilder('dedupe');
    const unique = b.stream('in', { key: 'string', value: 'json' }).process(dedupe, { name: 'dd' });
    unique.to('unique');
    unique.output('duplicates').to('dupes');
    const t = b.build();
    // The declared store is known before a record flows: its changelog is named.
    expect(t.internalTopics().map((i) => [i.name, i.config['cleanup.policy']])).toEqual([
      ['dd-seen-changelog', 'compact,delete'],
    ]);
    driver = await TopologyTestDriver.create(t);
    const input = driver.input('in');
    for (const k of ['a', 'b', 'a', 'a']) await input.pipe(k, { k });
    await input.pipe(null, { k: null });
    expect(
      driver
        .output('unique')
        .readKeyValues()
        .map(([k]) => k),
    ).toEqual(['a', 'b']);
    expect(
      driver
        .output('dupes')
        .readKeyValues()
        .map(([k]) => k),
    ).toEqual(['a', 'a']);
    expect(driver.metric('dd', 'duplicates')).toBe(2);
    expect(driver.deadLetters().map((d) => d.headers['millrace.reason'])).toEqual(['null_key']);
    expect(driver.windowStore('dd-seen').fetch('b', 0)).toBe(1);
  });

  it('once registered, are usable by name from topology files', () => {
    registerProcessor(dedupe);
    expect(processorRegistry.types()).toContain('test-dedupe');
    const t = buildTopology(
      parseTopology(`
nodes:
  - { source: in, topics: [in] }
  - { processor: dd, type: test-dedupe, parents: [in], options: { retentionMs: 1000 } }
  - { sink: dupes, topic: dupes, parents: ["dd:duplicates"] }
`),
    );
    expect(t.store('dd-seen')).toMatchObject({ kind: 'window', retentionMs: 1000 });
    expect(t.nodesByName.get('dd')).toMatchObject({ stores: ['dd-seen'] });
    expect(() =>
      buildTopology(
        parseTopology(`
nodes:
  - { source: in, topics: [in] }
  - { processor: dd, type: test-dedupe, parents: [in], options: { retentionMs: -1 } }
`),
      ),
    ).toThrow(
      /processor "dd" \(test-dedupe\): option retentionMs: .* — "test-dedupe" takes retentionMs$/,
    );
  });

  it('declare stores with defaults', () => {
    expect(keyValueStoreSpec<string, number>({ name: 's' })).toEqual({
      name: 's',
      kind: 'keyValue',
      keySerde: 'string',
      valueSerde: 'json',
      logged: true,
      cache: true,
    });
  });

  it('every built-in has a description and an options schema', () => {
    for (const d of processorRegistry.list()) {
      expect(d.description.length).toBeGreaterThan(10);
      expect(typeof d.options.safeParse).toBe('function');
    }
    for (const t of [
      'map',
      'filter',
      'flatMap',
      'peek',
      'branch',
      'selectKey',
      'count',
      'aggregate',
      'windowed-count',
      'windowed-aggregate',
    ])
      expect(processorRegistry.types()).toContain(t);
  });
});
