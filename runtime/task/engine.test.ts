import { encodeOffsetMetadata } from '../offset-metadata.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../../processors/index.js';
import type { ProcessorContext } from '../../processors/api.js';
import { serdeByName } from '../../state/index.js';
import { TopologyBuilder, type BuiltTopology } from '../../topology/index.js';
import { createTaskEngine, serdeResolver, type CreateEngineOptions } from './create.js';
import type { StreamTaskEngine } from './engine.js';
import { RecordProcessingError } from './errors.js';
import type { FailureAction, RawRecord } from './types.js';

let engine: StreamTaskEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function open(
  t: BuiltTopology,
  handler: FailureAction = 'dead-letter',
  taskId = '0_0',
  extra: Partial<CreateEngineOptions> = {},
) {
  engine = await createTaskEngine({
    applicationId: 'app',
    taskId,
    topology: t,
    serde: serdeResolver(),
    stateDir: os.tmpdir(),
    backend: 'memory',
    deadLetterTopic: 'dlq',
    deserializationErrorHandler: handler,
    processingErrorHandler: handler,
    now: () => 5_000,
    ...extra,
  });
  await engine.init();
  return engine;
}

const str = serdeByName('string');
const raw = (
  topic: string,
  partition: number,
  offset: number,
  key: string,
  value: string,
  timestamp = offset,
): RawRecord => ({
  topic,
  partition,
  offset,
  key: str.serialize(key),
  value: str.serialize(value),
  timestamp,
  headers: {},
});

function counting(): BuiltTopology {
  const b = new TopologyBuilder();
  b.stream('in', { key: 'string', value: 'string' }).groupByKey().count({ name: 'c' }).to('out');
  return b.build();
}

/** A topology around one processor definition given inline. */
function around(create: () => object, outputs?: string[]): BuiltTopology {
  const b = new TopologyBuilder();
  b.stream('in', { key: 'string', value: 'string' })
    .process({ type: `t-${Math.random()}`, options: z.object({}), outputs, create }, { name: 'p' })
    .to('out', { key: 'string', value: 'string' });
  return b.build();
}

describe('the task engine', () => {
  it('resumes the stream time committed with its offsets, and never moves it back', async () => {
    const e = await open(counting());
    e.resumeStreamTime(1000);
    expect(e.streamTime()).toBe(1000);
    e.process(raw('in', 0, 5, 'a', 'x'));
    expect(e.streamTime()).toBe(1000);
    e.resumeStreamTime(10);
    expect(e.streamTime()).toBe(1000);
  });

  it('commits past offsets read with no record for it (transaction markers), never back, with the stream time', async () => {
    const e = await open(counting());
    e.process(raw('in', 0, 5, 'a', 'x', 700));
    e.consumedUpTo('in', 0, 8); // a marker at 6, aborted records at 7
    e.consumedUpTo('in', 0, 7); // not back
    const first = await e.prepareCommit();
    expect(first.offsets).toEqual([
      { topic: 'in', partition: 0, offset: 8, metadata: encodeOffsetMetadata(700) },
    ]);
    e.consumedUpTo('in', 0, 9); // a marker-only fetch after the commit
    expect((await e.prepareCommit()).offsets.map((o) => o.offset)).toEqual([9]);
    expect((await e.prepareCommit()).offsets).toEqual([]);
  });

  it('processes synchronously and hands over outputs, changelogs and consumed offsets at commit', async () => {
    const e = await open(counting());
    expect(e.process(raw('in', 3, 10, 'a', 'x'))).toBeUndefined();
    e.process(raw('in', 3, 11, 'a', 'x'));
    e.process(raw('in', 3, 12, 'b', 'x'));
    const batch = await e.prepareCommit();
    expect(
      batch.records.map((r) => [
        r.topic,
        str.deserialize(r.key!),
        serdeByName('int64').deserialize(r.value!),
      ]),
    ).toEqual([
      ['out', 'a', 1],
      ['out', 'a', 2],
      ['out', 'b', 1],
    ]);
    expect(batch.changelogs.map((c) => [c.store, c.topic, c.records.length])).toEqual([
      ['c-store', 'app-c-store-changelog', 2],
    ]);
    // The stream time travels with the offsets (committed in their metadata).
    expect(batch.offsets).toEqual([
      { topic: 'in', partition: 3, offset: 13, metadata: encodeOffsetMetadata(12) },
    ]);
    expect(e.streamTime()).toBe(12);
    const empty = await e.prepareCommit();
    expect(empty).toEqual({ records: [], changelogs: [], offsets: [] });
  });

  it('awaits an asynchronous processor before the record is done', async () => {
    const seen: string[] = [];
    const e = await open(
      around(() => {
        let ctx: ProcessorContext;
        return {
          init: (c: ProcessorContext) => void (ctx = c),
          process: async (r: { key: unknown; value: unknown; timestamp: number }) => {
            await new Promise((res) => setTimeout(res, 5));
            seen.push(String(r.value));
            ctx.forward(r);
          },
        };
      }),
    );
    const p = e.process(raw('in', 0, 0, 'k', 'v1'));
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(seen).toEqual(['v1']);
    expect(e.takeOutputs().length).toBe(1);
  });

  it('fires stream-time punctuations aligned to their interval, once per advance', async () => {
    const fired: number[] = [];
    const e = await open(
      around(() => ({
        init: (c: ProcessorContext) =>
          void c.schedule(10, 'stream-time', (ts) => void fired.push(ts)),
        process: () => {},
      })),
    );
    for (const ts of [3, 9, 10, 11, 35, 36, 40]) e.process(raw('in', 0, ts, 'k', 'v', ts));
    expect(fired).toEqual([10, 35, 40]);
  });

  it.each(['continue', 'dead-letter', 'fail'] as const)(
    'handles a throwing punctuation: %s',
    async (mode) => {
      const e = await open(
        around(() => ({
          init: (c: ProcessorContext) =>
            void c.schedule(1_000, 'wall-clock', () => {
              throw new Error('tick failed');
            }),
          process: () => {},
        })),
        mode,
      );
      if (mode === 'fail') {
        expect(() => e.punctuateWallClock(6_000)).toThrow(RecordProcessingError);
        return;
      }
      e.punctuateWallClock(6_000);
      const dlq = e.takeOutputs();
      if (mode === 'continue') {
        expect(dlq).toEqual([]);
        expect(e.counters.get('p/punctuation_error_skipped')).toBe(1);
      } else
        expect(
          dlq.map((r) => [
            r.topic,
            r.key,
            r.value,
            r.headers?.['millrace.reason'],
            r.headers?.['millrace.error'],
          ]),
        ).toEqual([['dlq', null, null, 'punctuation_error', 'tick failed']]);
    },
  );

  it('treats a forward to an unknown output as a processing error of that processor', async () => {
    const e = await open(
      around(() => {
        let ctx: ProcessorContext;
        return {
          init: (c: ProcessorContext) => void (ctx = c),
          process: (r: never) => {
            expect(ctx.connected('spare')).toBe(false);
            ctx.forward(r, 'spare'); // declared, unread: reaches no one
            ctx.forward(r, 'nowhere');
          },
        };
      }, ['spare']),
      'dead-letter',
    );
    e.process(raw('in', 0, 0, 'k', 'v'));
    const [dl] = e.takeOutputs();
    expect(dl?.headers?.['millrace.error']).toMatch(
      /p forwarded to "nowhere", which is neither one of its outputs \(spare\) nor a child/,
    );
  });

  it('raises counters in the metrics the runtime gives, as well as in memory', async () => {
    const seen: string[] = [];
    const b = new TopologyBuilder();
    b.stream('in', { key: 'string', value: 'json' }).to('out');
    const e = await open(b.build(), 'dead-letter', '0_0', {
      processorMetrics: (p) => ({
        counter: (name) => ({ inc: (by = 1) => void seen.push(`${p}/${name}+${by}`) }),
        observe: () => {},
      }),
    });
    e.process(raw('in', 0, 0, 'k', '{bad'));
    e.process(raw('in', 0, 1, 'k', '{bad'));
    expect(seen).toEqual([
      'source-1/dlq_deserialization_error+1',
      'source-1/dlq_deserialization_error+1',
    ]);
    expect(e.counters.get('source-1/dlq_deserialization_error')).toBe(2);
  });

  it('times one record in 64 per processor into the metrics the runtime gives', async () => {
    const timed: Array<[string, string, number]> = [];
    const b = new TopologyBuilder();
    b.stream('in', { key: 'string', value: 'string' })
      .mapValues((v: string) => v.toUpperCase(), 'upper')
      .to('out');
    const e = await open(b.build(), 'dead-letter', '0_0', {
      processorMetrics: (p) => ({
        counter: () => ({ inc: () => {} }),
        observe: (name, _help, v) => void timed.push([p, name, v]),
      }),
    });
    for (let i = 0; i < 128; i++) e.process(raw('in', 0, i, 'k', 'v'));
    expect(timed.map(([p, name]) => `${p}/${name}`)).toEqual([
      'upper/process_latency_seconds',
      'upper/process_latency_seconds',
    ]);
    for (const [, , v] of timed) expect(v).toBeGreaterThanOrEqual(0);
    expect(e.takeOutputs()).toHaveLength(128);
  });

  it('refuses records of a topic none of its sources reads', async () => {
    const e = await open(counting());
    expect(() => e.process(raw('other', 0, 0, 'k', 'v'))).toThrow(/none of its sources reads/);
  });

  it('imports no Kafka client, directly or through anything it imports', () => {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/from ['"]kafkajs|import\(['"]kafkajs/);
      for (const m of text.matchAll(/from '(\.[^']+)\.js'/g))
        visit(path.resolve(path.dirname(file), `${m[1]}.ts`));
    };
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')))
      visit(path.join(dir, f));
    expect(seen.size).toBeGreaterThan(10);
  });
});
