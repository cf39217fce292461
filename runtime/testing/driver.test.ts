import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../../processors/index.js';
import type { ProcessorContext } from '../../processors/api.js';
import { registerProcessor } from '../../processors/registry.js';
import { TopologyBuilder, tumbling, type BuiltTopology } from '../../topology/index.js';
import { RecordProcessingError } from '../task/errors.js';
import { useDriver } from '../../test/support/driver.js';

const start = useDriver();

function countByKey(): BuiltTopology {
  const b = new TopologyBuilder('counts');
  b.stream('words', { key: 'string', value: 'string' })
    .groupByKey()
    .count({ name: 'count' })
    .to('counts', { key: 'string', value: 'int64' });
  return b.build();
}

describe('topology test driver', () => {
  it.each(['memory', 'leveldb'] as const)(
    'counts by key with the caching store stack (%s), and flushes on commit',
    async (backend) => {
      const d = await start(countByKey(), { backend });
      const words = d.input('words', { key: 'string', value: 'string' });
      for (const w of ['a', 'b', 'a', 'c', 'a', 'b']) await words.pipe(w, w, { timestamp: 1000 });
      expect(
        d
          .output('counts', { key: 'string', value: 'int64' })
          .readAll()
          .map((r) => `${r.key}=${r.value}`),
      ).toEqual(['a=1', 'b=1', 'a=2', 'c=1', 'a=3', 'b=2']);
      expect(d.keyValueStore<string, number>('count-store').get('a')).toBe(3);
      // Six writes to three keys collapse to three changelog records at commit.
      expect(await d.commit()).toEqual(new Map([['count-store', 3]]));
      expect(await d.commit()).toEqual(new Map());
    },
  );

  it('defaults input and output serdes to those of the source and the sink', async () => {
    const d = await start(countByKey());
    await d.input('words').pipe('w', 'w');
    const out = d.output('counts');
    expect(out.isEmpty()).toBe(false);
    expect(out.readKeyValues()).toEqual([['w', 1]]);
    expect(out.isEmpty()).toBe(true);
    expect(() => d.input('nope')).toThrow(
      /no node of this topology uses topic "nope"; pass its serdes/,
    );
    await expect(d.input('nope', { key: 'string', value: 'json' }).pipe('k', 'v')).rejects.toThrow(
      /no source of this topology reads "nope"; it reads words/,
    );
  });

  it('re-keys through a repartition topic into a second sub-topology', async () => {
    const b = new TopologyBuilder('by-user');
    b.stream('clicks', { key: 'string', value: 'json' })
      .selectKey((r) => (r.value as { user: string }).user, 'by-user')
      .groupByKey()
      .count({ name: 'clicks-per-user' })
      .to('user-clicks', { key: 'string', value: 'int64' });
    const t = b.build();
    expect(t.subtopologies.length).toBe(2);
    expect(t.internalTopics().map((i) => i.name)).toEqual([
      'by-user-repartition',
      'clicks-per-user-store-changelog',
    ]);
    const d = await start(t, { applicationId: 'app' });
    const repartition = d.output('app-by-user-repartition');
    const clicks = d.input('clicks');
    await clicks.pipe('c1', { user: 'ann' });
    await clicks.pipe('c2', { user: 'bob' });
    await clicks.pipe('c3', { user: 'ann' });
    expect(repartition.readKeyValues().map(([k]) => k)).toEqual(['ann', 'bob', 'ann']);
    expect(
      d
        .output('user-clicks')
        .readAll()
        .map((r) => `${r.key}=${r.value}`),
    ).toEqual(['ann=1', 'bob=1', 'ann=2']);
  });

  it("count with emit 'on-commit' forwards each key's newest count at commit, once", async () => {
    const b = new TopologyBuilder('counts');
    b.stream('words', { key: 'string', value: 'string' })
      .groupByKey()
      .count({ name: 'count', emit: 'on-commit' })
      .to('counts', { key: 'string', value: 'int64' });
    const d = await start(b.build());
    const words = d.input('words');
    const out = d.output('counts');
    for (const w of ['a', 'b', 'a', 'c', 'a', 'b']) await words.pipe(w, w);
    expect(out.readAll()).toEqual([]); // nothing leaves before the commit
    expect(d.keyValueStore<string, number>('count-store').get('a')).toBe(3); // the store is current
    await d.commit();
    expect(out.readKeyValues()).toEqual([
      ['c', 1],
      ['a', 3],
      ['b', 2],
    ]);
    await d.commit();
    expect(out.readAll()).toEqual([]); // nothing updated since: nothing again
    await words.pipe('a', 'a');
    await d.commit();
    expect(out.readKeyValues()).toEqual([['a', 4]]);
  });

  it("aggregate with emit 'on-commit' emits a key early when more keys than maxBufferedKeys wait, and the flush crosses a repartition", async () => {
    const b = new TopologyBuilder('sums');
    b.stream<string, { amount: number }>('amounts', { key: 'string', value: 'json' })
      .groupByKey()
      .aggregate(
        () => 0,
        (_k, v, sum) => sum + v.amount,
        {
          name: 'sum',
          emit: 'on-commit',
          maxBufferedKeys: 2,
        },
      )
      // Re-keyed by parity of the sum, then counted per commit in the second sub-topology.
      .selectKey((r) => (r.value % 2 === 0 ? 'even' : 'odd'), 'by-parity')
      .groupByKey()
      .count({ name: 'parity', emit: 'on-commit' })
      .to('parities', { key: 'string', value: 'int64' });
    const t = b.build();
    expect(t.subtopologies.length).toBe(2);
    const d = await start(t, { applicationId: 'app' });
    const repartition = d.output('app-by-parity-repartition', { key: 'string', value: 'json' });
    const input = d.input('amounts');
    await input.pipe('a', { amount: 1 });
    await input.pipe('b', { amount: 2 });
    await input.pipe('a', { amount: 2 }); // a=3, now the most recently updated
    expect(repartition.readAll()).toEqual([]);
    await input.pipe('c', { amount: 4 }); // third key: b (least recent) leaves early
    expect(repartition.readKeyValues()).toEqual([['even', 2]]);
    await d.commit();
    expect(repartition.readKeyValues()).toEqual([
      ['odd', 3],
      ['even', 4],
    ]);
    // The second sub-topology counted three re-keyed records (b=2, a=3, c=4) and emits each
    // key once, least recently updated first: even was updated again after odd.
    expect(d.output('parities').readKeyValues()).toEqual([
      ['odd', 1],
      ['even', 2],
    ]);
  });

  it('rejects a bad emit option of count with the field and the allowed values', () => {
    const b = new TopologyBuilder('bad');
    b.stream('words', { key: 'string', value: 'string' })
      .groupByKey()
      .count({ name: 'count', emit: 'sometimes' as 'on-commit' })
      .to('counts');
    expect(() => b.build()).toThrow(/emit.*every-update.*on-commit/s);
  });

  it('emits tumbling-window counts once, when stream time passes end + grace, and dead-letters late records', async () => {
    const b = new TopologyBuilder('windows');
    b.stream('events', { key: 'string', value: 'string' })
      .groupByKey()
      .windowedBy(tumbling(60_000, 10_000))
      .count({ name: 'per-minute' })
      .to('minute-counts', { key: 'string', value: 'json' });
    const d = await start(b.build());
    const ev = d.input('events');
    const out = d.output('minute-counts');
    await ev.pipe('k', 'x', { timestamp: 1_000 });
    await ev.pipe('k', 'x', { timestamp: 59_999 });
    await ev.pipe('j', 'x', { timestamp: 30_000 });
    await ev.pipe('k', 'x', { timestamp: 69_999 }); // window [0, 60s) still open (closes at 70s)
    expect(out.readAll()).toEqual([]);
    await ev.pipe('k', 'x', { timestamp: 70_000 }); // stream time reaches 70s: [0, 60s) closes
    expect(out.readAll().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['j', { window_start: 0, window_end: 60_000, value: 1 }, 59_999],
      ['k', { window_start: 0, window_end: 60_000, value: 2 }, 59_999],
    ]);
    await ev.pipe('k', 'late', { timestamp: 59_999 }); // late by 1 ms past grace
    expect(d.deadLetters().map((x) => [x.value?.toString(), x.headers['millrace.reason']])).toEqual(
      [['late', 'late']],
    );
    expect(d.metric('per-minute', 'late_records')).toBe(1);
    await ev.pipe('k', 'x', { timestamp: 130_000 }); // closes [60s, 120s): k had 2 (69 999, 70 000)
    expect(out.readKeyValues()).toEqual([
      ['k', { window_start: 60_000, window_end: 120_000, value: 2 }],
    ]);
    expect(d.metric('per-minute', 'window_emits')).toBe(3);
  });

  it('aggregates in tumbling windows with a lambda, and routes late records to the late output when read', async () => {
    const b = new TopologyBuilder('sums');
    const sums = b
      .stream<string, { amount: number }>('amounts', { key: 'string', value: 'json' })
      .groupByKey()
      .windowedBy(tumbling(1_000))
      .aggregate(
        () => ({ sum: 0, n: 0 }),
        (_k, v, a) => ({ sum: a.sum + v.amount, n: a.n + 1 }),
        { name: 'sum' },
      );
    sums.to('sums');
    sums.output('late').to('late-amounts');
    const d = await start(b.build());
    const input = d.input('amounts');
    await input.pipeAll([
      { key: 'a', value: { amount: 5 }, timestamp: 100 },
      { key: 'b', value: { amount: 1 }, timestamp: 900 },
      { key: 'a', value: { amount: 7 }, timestamp: 999 },
      { key: 'a', value: { amount: 2 }, timestamp: 1_000 }, // closes [0, 1000)
      { key: 'a', value: { amount: 9 }, timestamp: 999 }, // late: grace 0
    ]);
    expect(d.output('sums').readKeyValues()).toEqual([
      ['a', { window_start: 0, window_end: 1_000, value: { sum: 12, n: 2 } }],
      ['b', { window_start: 0, window_end: 1_000, value: { sum: 1, n: 1 } }],
    ]);
    expect(d.output('late-amounts').readKeyValues()).toEqual([['a', { amount: 9 }]]);
    expect(d.deadLetters()).toEqual([]);
    expect(d.metric('sum', 'late_records')).toBe(1);
    expect(d.windowStore('sum-store').fetch('a', 1_000)).toEqual({ sum: 2, n: 1 });
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
    const d = await start(b.build(), { wallClockStart: 10_000 });
    await d.advanceWallClock(500);
    expect(fired).toEqual([]);
    await d.advanceWallClock(600);
    await d.advanceWallClock(1000);
    expect(fired).toEqual([11_100, 12_100]);
    expect(d.output('ticks').readAll().length).toBe(2);
  });

  it.each(['continue', 'dead-letter', 'fail'] as const)(
    'handles an undecodable record and a throwing processor: %s',
    async (mode) => {
      const b = new TopologyBuilder('failing');
      b.stream<string, { n: number }>('in', { key: 'string', value: 'json' })
        .mapValues((v) => {
          if (v.n < 0) throw new Error('negative');
          return v.n * 2;
        }, 'double')
        .to('out', { key: 'string', value: 'json' });
      const d = await start(b.build(), {
        deserializationErrorHandler: mode,
        processingErrorHandler: mode,
      });
      const input = d.input('in');
      const bad = d.pipeRaw('in', Buffer.from('k'), Buffer.from('{not json'));
      if (mode === 'fail') {
        await expect(bad).rejects.toThrow(
          /deserialization error in source-1 \(task 0_0, in\[0\]@0\)/,
        );
        return;
      }
      await bad;
      await input.pipe('k', { n: -1 });
      await input.pipe('k', { n: 2 });
      expect(d.output('out').readKeyValues()).toEqual([['k', 4]]);
      const dlq = d.deadLetters();
      if (mode === 'continue') {
        expect(dlq).toEqual([]);
        expect(d.metric('double', 'processing_error_skipped')).toBe(1);
        expect(d.metric('source-1', 'deserialization_error_skipped')).toBe(1);
      } else {
        expect(
          dlq.map((x) => [
            x.value?.toString(),
            x.headers['millrace.reason'],
            x.headers['millrace.processor'],
            x.headers['millrace.source.topic'],
            x.headers['millrace.source.offset'],
          ]),
        ).toEqual([
          ['{not json', 'deserialization_error', 'source-1', 'in', '0'],
          ['{"n":-1}', 'processing_error', 'double', 'in', '1'],
        ]);
        expect(dlq[1]!.headers['millrace.error']).toBe('negative');
        expect(d.metric('double', 'dlq_processing_error')).toBe(1);
      }
    },
  );

  it('fails with a typed error naming the processor that threw, deep in the topology, with the cause', async () => {
    const b = new TopologyBuilder('deep');
    const cause = new Error('boom');
    b.stream('in', { key: 'string', value: 'json' })
      .filter(() => true, 'first')
      .peek((r) => {
        if (r.value === 2) throw cause;
      }, 'second')
      .to('out');
    const d = await start(b.build(), { processingErrorHandler: 'fail' });
    await d.input('in').pipe('k', 1);
    const err = await d
      .input('in')
      .pipe('k', 2)
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordProcessingError);
    const e = err as RecordProcessingError;
    expect(e.message).toMatch(/^processing error in second \(task 0_0, in\[0\]@1\): boom/);
    expect(e.code).toBe('PROCESSING_ERROR');
    expect(e.cause).toBe(cause);
    expect(e.coordinates).toEqual({
      task: '0_0',
      processor: 'second',
      topic: 'in',
      partition: 0,
      offset: 1,
    });
  });
});
