import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../processors/index.js';
import { clicksTopology } from '../examples/topologies/clicks.js';
import { loadTopologyFile, parseTopology, TopologyBuilder, tumbling } from './index.js';

const examples = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../examples/topologies',
);
const json = { key: 'string', value: 'json' };

describe('the builder', () => {
  it('and the YAML file give the same spec', () => {
    expect(clicksTopology().spec()).toEqual(loadTopologyFile(path.join(examples, 'clicks.yaml')));
  });

  it('and a JSON file give the same spec (JSON is YAML)', () => {
    const spec = clicksTopology().spec();
    const { version: _v, ...file } = {
      ...spec,
      nodes: spec.nodes.map(({ kind, name, ...rest }) => ({ [kind]: name, ...rest })),
    };
    expect(parseTopology(JSON.stringify(file))).toEqual(spec);
  });

  it('keeps lambdas out of the spec: the node has its type and an inline marker', () => {
    const b = new TopologyBuilder();
    b.stream('in', json, 'in')
      .filter((r) => r.value !== null, 'not-null')
      .mapValues((v) => v, 'same')
      .to('out');
    const spec = b.spec();
    expect(spec.nodes[1]).toEqual({
      kind: 'processor',
      name: 'not-null',
      type: 'filter',
      parents: ['in'],
      options: {},
      stores: [],
      inline: true,
    });
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    expect(typeof b.build().inline.get('not-null')).toBe('function');
  });

  it('inserts one repartition topic named after the key-changing node before a stateful step', () => {
    const b = new TopologyBuilder();
    const grouped = b
      .stream<string, { user: string }>('clicks', json)
      .selectKey((r) => r.value.user, 'by-user')
      .groupByKey();
    grouped.count({ name: 'total' }).to('totals');
    grouped.windowedBy(tumbling(60_000)).count({ name: 'per-minute' }).to('minutes');
    const t = b.build('app');
    expect(t.subtopologies.length).toBe(2);
    expect(t.internalTopics().filter((i) => i.kind === 'repartition')).toEqual([
      {
        name: 'by-user-repartition',
        kind: 'repartition',
        subtopology: 1,
        config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
      },
    ]);
    expect(t.spec.nodes.filter((n) => n.kind !== 'processor').map((n) => n.name)).toEqual([
      'source-1',
      'by-user-sink',
      'by-user-source',
      'sink-2',
      'sink-3',
    ]);
  });

  it('does not repartition when keys did not change', () => {
    const b = new TopologyBuilder();
    b.stream('in', json)
      .mapValues((v) => v)
      .filter(() => true)
      .groupByKey()
      .count();
    expect(b.build().subtopologies.length).toBe(1);
  });

  it('branches into named outputs', () => {
    const b = new TopologyBuilder();
    const { big, small } = b
      .stream<string, { v: number }>('trades', json, 'trades')
      .branch({ big: (r) => r.value.v > 10, small: () => true }, 'split');
    big.to('big-trades', json, 'big');
    small.mapValues((v) => v, 'tag').to('small-trades', json, 'small');
    const t = b.build();
    expect(t.nodesByName.get('split')).toMatchObject({
      type: 'branch',
      options: { branches: ['big', 'small'] },
    });
    expect(t.nodesByName.get('big')).toMatchObject({ parents: ['split:big'] });
    expect(t.nodesByName.get('tag')).toMatchObject({ parents: ['split:small'] });
    expect(t.outputs.get('split')).toEqual(
      new Map([
        ['big', ['big']],
        ['small', ['tag']],
      ]),
    );
  });

  it('takes a processor definition without registering it', () => {
    const upper = {
      type: 'test-upper-builder',
      options: z.object({ suffix: z.string().default('!') }).strict(),
      outputs: ['empty'],
      create: () => ({ process() {} }),
    };
    const b = new TopologyBuilder();
    const s = b.stream('in', json).process(upper, { name: 'up' });
    s.to('out');
    s.output('empty').to('empties');
    const t = b.build();
    expect(t.nodesByName.get('up')).toMatchObject({
      type: 'test-upper-builder',
      options: { suffix: '!' },
    });
    expect(t.definitions.get('test-upper-builder')).toBe(upper);
    const other = new TopologyBuilder();
    other.stream('in', json).process('test-upper-builder');
    expect(() => other.build()).toThrow(/unknown type "test-upper-builder"/);
  });

  it('declares stores given as specs to process()', () => {
    const b = new TopologyBuilder();
    b.stream('in', json).process('count', {
      name: 'c',
      options: { store: 'mine' },
      stores: [
        {
          name: 'mine',
          kind: 'keyValue',
          keySerde: 'string',
          valueSerde: 'int64',
          logged: false,
          cache: true,
        },
      ],
    });
    expect(b.build().store('mine')).toMatchObject({ logged: false });
  });

  it('sinks default to the serdes the stream knows', () => {
    const b = new TopologyBuilder();
    const s = b.stream('in', { key: 'bytes', value: 'string' });
    s.filter(() => true).to('same');
    s.groupByKey().count().to('counted');
    s.mapValues((v) => v.length).to('mapped');
    const sinks = b.spec().nodes.filter((n) => n.kind === 'sink');
    expect(sinks.map((n) => [n.topic, n.keySerde, n.valueSerde])).toEqual([
      ['same', 'bytes', 'string'],
      ['counted', 'bytes', 'int64'],
      ['mapped', 'bytes', 'json'],
    ]);
  });

  it('build(appId) names internal topics in the description', () => {
    const t = clicksTopology().build('my-app');
    expect(t.applicationId).toBe('my-app');
  });
});
