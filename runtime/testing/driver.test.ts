import { afterEach, describe, expect, it } from 'vitest';
import '../../processors/index.js';
import type { ProcessorContext } from '../../processors/api.js';
import { registerProcessor } from '../../processors/registry.js';
import { TopologyBuilder, tumbling } from '../../topology/index.js';
import { z } from 'zod';
import { TopologyTestDriver } from './driver.js';

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

describe('topology test driver', () => {
  it('counts by key with the caching store stack, and flushes on commit', async () => {
    const b = new TopologyBuilder('counts');
    b.stream('words', { key: 'string', value: 'string' })
      .groupByKey({ keySerde: 'string', valueSerde: 'string' })
      .count({ name: 'count' })
      .to('counts', { key: 'string', value: 'int64' });
    driver = await TopologyTestDriver.create(b.build());
    const words = driver.input('words', { key: 'string', value: 'string' });
    for (const w of ['a', 'b', 'a', 'c', 'a', 'b']) await words.pipe(w, w, { timestamp: 1000 });
    expect(
      driver
        .output('counts', { key: 'string', value: 'int64' })
        .readAll()
        .map((r) => `${r.key}=${r.value}`),
    ).toEqual(['a=1', 'b=1', 'a=2', 'c=1', 'a=3', 'b=2']);
    expect(driver.keyValueStore<string, number>('count-store').get('a')).toBe(3);
    // Six writes to three keys collapse to three changelog records at commit.
    expect(await driver.commit()).toEqual(new Map([['count-store', 3]]));
  });

  it('re-keys through a repartition topic into a second sub-topology', async () => {
    const b = new TopologyBuilder('by-user');
    b.stream('clicks', { key: 'string', value: 'json' })
      .selectKey((r) => (r.value as { user: string }).user, 'by-user')
      .groupByKey({ keySerde: 'string', valueSerde: 'json' })
      .count({ name: 'clicks-per-user' })
      .to('user-clicks', { key: 'string', value: 'int64' });
    const t = b.build();
    expect(t.subtopologies.length).toBe(2);
    expect(t.internalTopics().map((i) => i.name)).toEqual([
      'repartition-2-repartition',
      'clicks-per-user-store-changelog',
    ]);
    driver = await TopologyTestDriver.create(t);
    const clicks = driver.input('clicks', { key: 'string', value: 'json' });
    await clicks.pipe('c1', { user: 'ann' });
    await clicks.pipe('c2', { user: 'bob' });
    await clicks.pipe('c3', { user: 'ann' });
    expect(
      driver
        .output('user-clicks', { key: 'string', value: 'int64' })
        .readAll()
        .map((r) => `${r.key}=${r.value}`),
    ).toEqual(['ann=1', 'bob=1', 'ann=2']);
  });

  it('emits tumbling-window counts once, when stream time passes end + grace, and dead-letters late records', async () => {
    const b = new TopologyBuilder('windows');
    b.stream('events', { key: 'string', value: 'string' })
      .groupByKey({ keySerde: 'string', valueSerde: 'string' })
      .windowedBy(tumbling(60_000, 10_000))
      .count({ name: 'per-minute' })
      .to('minute-counts', { key: 'string', value: 'json' });
    driver = await TopologyTestDriver.create(b.build());
    const ev = driver.input('events', { key: 'string', value: 'string' });
    const out = driver.output('minute-counts', { key: 'string', value: 'json' });
    await ev.pipe('k', 'x', { timestamp: 1_000 });
    await ev.pipe('k', 'x', { timestamp: 59_999 });
    await ev.pipe('j', 'x', { timestamp: 30_000 });
    await ev.pipe('k', 'x', { timestamp: 69_999 }); // window [0, 60s) still open (closes at 70s)
    expect(out.readAll()).toEqual([]);
    await ev.pipe('k', 'x', { timestamp: 70_000 }); // stream time reaches 70s: [0, 60s) closes
    expect(out.readAll().map((r) => [r.key, r.value])).toEqual([
      ['j', { window_start: 0, window_end: 60_000, value: 1 }],
      ['k', { window_start: 0, window_end: 60_000, value: 2 }],
    ]);
    await ev.pipe('k', 'late', { timestamp: 59_999 }); // late by 1 ms past grace
    expect(
      driver.deadLetters().map((d) => [d.value?.toString(), d.headers['millrace.reason']]),
    ).toEqual([['late', 'late']]);
    expect(driver.metric('per-minute', 'late_records')).toBe(1);
  });

  it('fires wall-clock punctuations when the wall clock advances', async () => {
    const fired: number[] = [];
    registerProcessor({
      type: 'test-ticker',
      description: 'forwards a tick every second of wall-clock time',
      options: z.object({}).strict(),
      create: () => {
        let ctx: ProcessorContext;
        return {
          init: (c: ProcessorContext) => {
            ctx = c;
            c.schedule(1000, 'wall-clock', (ts) => {
              fired.push(ts);
              ctx.forward({ key: 'tick', value: String(ts), timestamp: ts });
            });
          },
          process: () => {},
        };
      },
    });
    const b = new TopologyBuilder('ticker');
    b.stream('in', { key: 'string', value: 'string' })
      .process('test-ticker', { name: 'ticker' })
      .to('ticks', { key: 'string', value: 'string' });
    driver = await TopologyTestDriver.create(b.build(), { wallClockStart: 10_000 });
    await driver.advanceWallClock(500);
    expect(fired).toEqual([]);
    await driver.advanceWallClock(600);
    await driver.advanceWallClock(1000);
    expect(fired).toEqual([11_100, 12_100]);
    expect(driver.output('ticks', { key: 'string', value: 'string' }).readAll().length).toBe(2);
  });

  it.each(['continue', 'dead-letter', 'fail'] as const)(
    'handles an undecodable record and a throwing processor: %s',
    async (mode) => {
      const b = new TopologyBuilder('failing');
      b.stream('in', { key: 'string', value: 'json' })
        .mapValues((v: { n: number }) => {
          if (v.n < 0) throw new Error('negative');
          return v.n * 2;
        }, 'double')
        .to('out', { key: 'string', value: 'json' });
      driver = await TopologyTestDriver.create(b.build(), {
        deserializationErrorHandler: mode,
        processingErrorHandler: mode,
      });
      const input = driver.input('in', { key: 'string', value: 'json' });
      const bad = driver.pipeRaw('in', Buffer.from('k'), Buffer.from('{not json'));
      if (mode === 'fail') {
        await expect(bad).rejects.toThrow(
          /deserialization error in source-1 \(task 0_0, in\[0\]@0\)/,
        );
        return;
      }
      await bad;
      await input.pipe('k', { n: -1 });
      await input.pipe('k', { n: 2 });
      expect(
        driver
          .output('out', { key: 'string', value: 'json' })
          .readAll()
          .map((r) => r.value),
      ).toEqual([4]);
      const dlq = driver.deadLetters();
      if (mode === 'continue') {
        expect(dlq).toEqual([]);
        expect(driver.metric('double', 'processing_error_skipped')).toBe(1);
      } else {
        expect(
          dlq.map((d) => [
            d.value?.toString(),
            d.headers['millrace.reason'],
            d.headers['millrace.source.offset'],
          ]),
        ).toEqual([
          ['{not json', 'deserialization_error', '0'],
          ['{"n":-1}', 'processing_error', '1'],
        ]);
        expect(dlq[1]!.headers['millrace.error']).toBe('negative');
      }
    },
  );
});
