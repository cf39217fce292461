import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../processors/index.js';
import { clicksTopology } from '../examples/topologies/clicks.js';
import { buildTopology, TopologyBuilder, TopologyError, type TopologySpec } from './index.js';

const spec = (nodes: TopologySpec['nodes'], stores: TopologySpec['stores'] = []): TopologySpec => ({
  version: 1,
  nodes,
  stores,
});
const src = (name: string, topics = [name]) => ({
  kind: 'source' as const,
  name,
  topics,
  keySerde: 'string',
  valueSerde: 'json',
});
const proc = (
  name: string,
  parents: string[],
  type = 'passthrough',
  options = {},
  stores: string[] = [],
) => ({ kind: 'processor' as const, name, type, parents, options, stores });
const sink = (name: string, parents: string[], topic = name) => ({
  kind: 'sink' as const,
  name,
  topic,
  parents,
  keySerde: 'string',
  valueSerde: 'json',
});
const store = (name: string, kind: 'keyValue' | 'window' = 'keyValue') => ({
  name,
  kind,
  keySerde: 'string',
  valueSerde: 'int64',
  logged: true,
  cache: true,
});

function buildError(s: TopologySpec): TopologyError {
  try {
    buildTopology(s);
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError);
    return err as TopologyError;
  }
  throw new Error('build() accepted a broken topology');
}

describe('build() validation: every error names the node and the fix', () => {
  it.each([
    [
      'unknown parent',
      spec([src('in'), proc('p', ['nope']), sink('out', ['p'])]),
      'p',
      'UNKNOWN_PARENT',
      /unknown parent "nope"; define "nope" or fix the name/,
    ],
    [
      'cycle',
      spec([src('in'), proc('a', ['in', 'b']), proc('b', ['a']), sink('out', ['b'])]),
      'a',
      'CYCLE',
      /on a cycle; .* route the loop through a topic/,
    ],
    [
      'store used but not declared',
      spec([src('in'), proc('c', ['in'], 'aggregate', { store: 's' }, ['s']), sink('out', ['c'])]),
      'c',
      'STORE_NOT_DECLARED',
      /store "s" which is not declared; add it/,
    ],
    [
      'duplicate names',
      spec([src('in'), proc('x', ['in']), proc('x', ['in'])]),
      'x',
      'DUPLICATE_NAME',
      /defined twice; give each node a unique name/,
    ],
    [
      'topic read twice',
      spec([src('a', ['t']), src('b', ['t'])]),
      'b',
      'TOPIC_READ_TWICE',
      /topic "t" is read by both "a" and "b"; read it once and branch/,
    ],
    [
      'sink with no parent',
      spec([src('in'), sink('out', [])]),
      'out',
      'SINK_NO_PARENT',
      /sink "out" has no parent; connect it/,
    ],
    [
      'bad options of a built-in',
      spec([
        src('in'),
        proc('w', ['in'], 'windowed-count', { store: 'w', sizeMs: -5 }),
        sink('out', ['w']),
      ]),
      'w',
      'BAD_OPTIONS',
      /processor "w" \(windowed-count\): option sizeMs: /,
    ],
    [
      'unknown option of a built-in',
      spec([src('in'), proc('c', ['in'], 'count', { store: 's', windo: 1 }), sink('out', ['c'])]),
      'c',
      'BAD_OPTIONS',
      /processor "c" \(count\): option .*windo/,
    ],
    [
      'unknown processor type',
      spec([src('in'), proc('q', ['in'], 'no-such-type'), sink('out', ['q'])]),
      'q',
      'UNKNOWN_PROCESSOR_TYPE',
      /unknown type "no-such-type"; known types: .*aggregate.* register yours/,
    ],
    [
      'unknown named output',
      spec([
        src('in'),
        proc('w', ['in'], 'windowed-count', { store: 'w', sizeMs: 10 }),
        sink('out', ['w:tardy']),
      ]),
      'out',
      'UNKNOWN_OUTPUT',
      /reads output "tardy" of "w", which has outputs late; fix the parent reference/,
    ],
    [
      'a store declared with the wrong kind',
      spec(
        [src('in'), proc('w', ['in'], 'windowed-count', { store: 's', sizeMs: 10 }, ['s'])],
        [store('s', 'keyValue')],
      ),
      'w',
      'STORE_KIND_MISMATCH',
      /needs store "s" as a window store, but it is declared as keyValue/,
    ],
    [
      'a ":" in a node name',
      spec([src('in'), proc('a:b', ['in'])]),
      'a:b',
      'NAME_INVALID',
      /has a ":" in its name; .* rename the node/,
    ],
    [
      'a processor with no parent',
      spec([src('in'), proc('lonely', [])]),
      'lonely',
      'PROCESSOR_NO_PARENT',
      /processor "lonely" has no parent/,
    ],
    [
      'a sink as a parent',
      spec([src('in'), sink('out', ['in']), proc('after', ['out'])]),
      'after',
      'SINK_AS_PARENT',
      /has the sink "out" as parent; a sink ends a stream/,
    ],
  ])('%s', (_what, s, node, code, message) => {
    const err = buildError(s);
    expect(err.node).toBe(node);
    expect(err.code).toBe(code);
    expect(err.domain).toBe('user');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(`"${node}"`);
    expect(err.message).toMatch(message);
  });

  it('processors that share a store form one sub-topology (their sources co-partitioned), as Kafka Streams connects them', () => {
    const t = buildTopology(
      spec(
        [
          src('a'),
          proc('ca', ['a'], 'count', { store: 's' }, ['s']),
          src('b'),
          proc('cb', ['b'], 'count', { store: 's' }, ['s']),
        ],
        [store('s')],
      ),
    );
    expect(t.subtopologies.map((x) => [x.nodes, x.sourceTopics, x.stores])).toEqual([
      [['a', 'b', 'ca', 'cb'], ['a', 'b'], ['s']],
    ]);
  });

  it('the builder surfaces the same errors at build(), not at the call', () => {
    const b = new TopologyBuilder();
    const s = b.stream('in', { key: 'string', value: 'json' });
    expect(() =>
      s.process('windowed-count', { name: 'bad', options: { store: 'x', sizeMs: 0 } }),
    ).not.toThrow();
    expect(() => b.build()).toThrow(/processor "bad" \(windowed-count\): option sizeMs/);
  });

  it('an inline node without its function (a spec from a file) is refused', () => {
    const s = spec([src('in'), { ...proc('m', ['in'], 'map'), inline: true }]);
    expect(buildError(s).message).toMatch(/processor "m" is inline but no function was given/);
  });

  it('two different definitions of one type in one builder are refused', () => {
    const def = () => ({ type: 'twin', options: z.object({}), create: () => ({ process() {} }) });
    const b = new TopologyBuilder();
    const s = b.stream('in', { key: 'string', value: 'json' });
    s.process(def(), { name: 'a' });
    s.process(def(), { name: 'b' });
    expect(() => b.build()).toThrow(/two different processor definitions have type "twin"/);
  });
});

describe('the built topology', () => {
  it('is frozen', () => {
    const t = clicksTopology().build();
    expect(Object.isFrozen(t.spec)).toBe(true);
    expect(Object.isFrozen(t.spec.nodes[0])).toBe(true);
  });

  it('splits at the repartition topic into sub-topologies, in a stable order', () => {
    const t = clicksTopology().build('clicks-app');
    expect(t.applicationId).toBe('clicks-app');
    expect(t.subtopologies.map((s) => [s.id, s.nodes, s.sourceTopics, s.stores])).toEqual([
      [0, ['clicks', 'by-user', 'by-user-sink'], ['clicks'], []],
      [
        1,
        ['by-user-source', 'count-total', 'count-minute', 'totals', 'per-minute'],
        ['by-user-repartition'],
        ['clicks-total', 'clicks-minute'],
      ],
    ]);
  });

  it('names internal topics: repartition, and changelogs with their cleanup policy', () => {
    expect(clicksTopology().build().internalTopics()).toEqual([
      {
        name: 'by-user-repartition',
        kind: 'repartition',
        subtopology: 1,
        config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
      },
      {
        name: 'clicks-total-changelog',
        kind: 'changelog',
        subtopology: 1,
        config: { 'cleanup.policy': 'compact' },
      },
      {
        name: 'clicks-minute-changelog',
        kind: 'changelog',
        subtopology: 1,
        config: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(70_000 + 86_400_000) },
      },
    ]);
  });

  it('an unlogged store has no changelog topic', () => {
    const b = new TopologyBuilder();
    b.stream('in', { key: 'string', value: 'json' }).groupByKey().count({ logged: false });
    expect(b.build().internalTopics()).toEqual([]);
  });

  it('declares the stores a type needs when a file names them only in options', () => {
    const t = buildTopology(
      spec([src('in'), proc('c', ['in'], 'count', { store: 'counts' }), sink('out', ['c'])]),
    );
    expect(t.spec.stores.map((s) => [s.name, s.kind, s.valueSerde])).toEqual([
      ['counts', 'keyValue', 'int64'],
    ]);
    expect(t.nodesByName.get('c')).toMatchObject({ stores: ['counts'] });
    expect(t.internalTopics().map((i) => i.name)).toEqual(['counts-changelog']);
  });

  it('applies option defaults of the schema', () => {
    const t = buildTopology(
      spec([src('in'), proc('w', ['in'], 'windowed-count', { store: 'w', sizeMs: 10 })]),
    );
    expect(t.nodesByName.get('w')).toMatchObject({
      options: { store: 'w', sizeMs: 10, graceMs: 0 },
    });
  });
});
