import { describe, expect, it } from 'vitest';
import '../processors/index.js';
import { buildTopology, parseTopology, TopologyError } from './index.js';

describe('topology files', () => {
  it('name the node in their errors', () => {
    expect(() => parseTopology('nodes:\n  - { processor: p, parents: [x] }')).toThrow(
      /processor "p" has no type/,
    );
    expect(() => parseTopology('name: x')).toThrow(/needs a "nodes:" list/);
    expect(() => parseTopology('nodes: [ { source: in ')).toThrow(
      /not valid YAML: .*line 1.*; fix the line it names/,
    );
    expect(() => parseTopology('nodes:\n  - { topic: t }')).toThrow(
      /node #1 is neither a source, a processor, a sink nor a repartition/,
    );
  });

  it('reject unknown fields, naming the node and what it takes', () => {
    const err = (() => {
      try {
        parseTopology('nodes:\n  - { source: in, topics: [t], valueSerd: json }');
      } catch (e) {
        return e as TopologyError;
      }
    })();
    expect(err).toBeInstanceOf(TopologyError);
    expect(err!.node).toBe('in');
    expect(err!.message).toMatch(
      /source "in" has unknown field valueSerd; a source takes .*valueSerde/,
    );
  });

  it('expand `repartition:` into the sink and source the builder inserts', () => {
    const spec = parseTopology(`
nodes:
  - { source: in, topics: [t] }
  - { processor: k, type: select-key-field, parents: [in], options: { field: user } }
  - { repartition: k, parents: [k], keySerde: string, valueSerde: json }
  - { processor: c, type: count, parents: [k-source], options: { store: s } }
`);
    expect(spec.nodes.map((n) => `${n.kind}:${n.name}`)).toEqual([
      'source:in',
      'processor:k',
      'sink:k-sink',
      'source:k-source',
      'processor:c',
    ]);
    const t = buildTopology(spec, { applicationId: 'a' });
    expect(t.subtopologies.length).toBe(2);
    expect(t.internalTopics().map((i) => i.name)).toEqual(['k-repartition', 's-changelog']);
  });

  it('read named outputs as `node:output`', () => {
    const t = buildTopology(
      parseTopology(`
nodes:
  - { source: in, topics: [t] }
  - { processor: w, type: windowed-count, parents: [in], options: { store: w, sizeMs: 1000 } }
  - { sink: out, topic: o, parents: [w] }
  - { sink: late, topic: late-events, parents: ["w:late"] }
`),
    );
    expect(t.outputs.get('w')).toEqual(
      new Map([
        ['', ['out']],
        ['late', ['late']],
      ]),
    );
  });

  it('take the emit option of count, and name the field and its values when it is wrong', () => {
    const yaml = (emit: string) => `
stores:
  - { name: s, kind: keyValue, keySerde: string, valueSerde: int64 }
nodes:
  - { source: in, topics: [t], keySerde: string, valueSerde: string }
  - { processor: c, type: count, parents: [in], options: { store: s, emit: ${emit} }, stores: [s] }
  - { sink: out, topic: o, parents: [c], keySerde: string, valueSerde: int64 }
`;
    const t = buildTopology(parseTopology(yaml('on-commit')));
    expect(t.nodesByName.get('c')).toMatchObject({
      options: { store: 's', emit: 'on-commit', maxBufferedKeys: 10_000 },
    });
    expect(() => buildTopology(parseTopology(yaml('hourly')))).toThrow(
      /processor "c" \(count\): option emit: .*"every-update"\|"on-commit"/,
    );
  });
});
