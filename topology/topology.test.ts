import fs from 'node:fs';
import path from 'node:path';
import { describe as suite, expect, it } from 'vitest';
import '../processors/index.js';
import { clicksTopology } from '../examples/topologies/clicks.js';
import {
  buildTopology,
  describe,
  loadTopologyFile,
  parseTopology,
  toDot,
  toJson,
  toMermaid,
  toSvg,
  TopologyBuilder,
  TopologyError,
  type TopologySpec,
} from './index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const examples = path.resolve(here, '../examples/topologies');

/** Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it. */
function golden(name: string, actual: string) {
  const file = path.join(here, '__golden__', name);
  if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
  }
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

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
const kvStore = (name: string) => ({
  name,
  kind: 'keyValue' as const,
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

suite('build() validation: every error names the node and the fix', () => {
  it.each([
    [
      'unknown parent',
      spec([src('in'), proc('p', ['nope']), sink('out', ['p'])]),
      'p',
      /unknown parent "nope"; define "nope" or fix the name/,
    ],
    [
      'cycle',
      spec([src('in'), proc('a', ['in', 'b']), proc('b', ['a']), sink('out', ['b'])]),
      'a',
      /on a cycle/,
    ],
    [
      'store used but not declared',
      spec([src('in'), proc('c', ['in'], 'aggregate', { store: 's' }, ['s']), sink('out', ['c'])]),
      'c',
      /store "s" which is not declared; add it/,
    ],
    [
      'duplicate names',
      spec([src('in'), proc('x', ['in']), proc('x', ['in'])]),
      'x',
      /defined twice; give each node a unique name/,
    ],
    [
      'topic read twice',
      spec([src('a', ['t']), src('b', ['t'])]),
      'b',
      /topic "t" is read by both "a" and "b"/,
    ],
    [
      'sink with no parent',
      spec([src('in'), sink('out', [])]),
      'out',
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
      /processor "w" \(windowed-count\): option sizeMs/,
    ],
    [
      'unknown processor type',
      spec([src('in'), proc('q', ['in'], 'no-such-type'), sink('out', ['q'])]),
      'q',
      /unknown type "no-such-type"; known types: .*aggregate/,
    ],
  ])('%s', (_what, s, node, message) => {
    const err = buildError(s);
    expect(err.node).toBe(node);
    expect(err.message).toContain(`"${node}"`);
    expect(err.message).toMatch(message);
  });

  it('a store reached from two sub-topologies', () => {
    const err = buildError(
      spec(
        [
          src('a'),
          proc('ca', ['a'], 'count', { store: 's' }, ['s']),
          src('b'),
          proc('cb', ['b'], 'count', { store: 's' }, ['s']),
        ],
        [kvStore('s')],
      ),
    );
    expect(err.node).toBe('cb');
    expect(err.message).toMatch(
      /store "s" is used by "ca" \(sub-topology 0\) and "cb" \(sub-topology 1\)/,
    );
  });

  it('the builder surfaces the same errors at build()', () => {
    const b = new TopologyBuilder();
    b.stream('in', { key: 'string', value: 'json' }).process('windowed-count', {
      name: 'bad',
      options: { store: 'x', sizeMs: 0 },
    });
    expect(() => b.build()).toThrow(/processor "bad" \(windowed-count\): option sizeMs/);
  });

  it('freezes the built topology', () => {
    const t = clicksTopology().build();
    expect(Object.isFrozen(t.spec)).toBe(true);
    expect(Object.isFrozen(t.spec.nodes[0])).toBe(true);
  });
});

suite('two ways to write a topology', () => {
  it('the builder and the YAML file give the same spec', () => {
    expect(clicksTopology().spec()).toEqual(loadTopologyFile(path.join(examples, 'clicks.yaml')));
  });

  it('YAML errors name the node', () => {
    expect(() => parseTopology('nodes:\n  - { processor: p, parents: [x] }')).toThrow(
      /processor "p" has no type/,
    );
    expect(() => parseTopology('name: x')).toThrow(/needs a "nodes:" list/);
  });

  it('splits at the repartition topic into sub-topologies and names internal topics', () => {
    const t = clicksTopology().build();
    expect(t.subtopologies.map((s) => s.nodes)).toEqual([
      ['clicks', 'by-user', 'by-user-sink'],
      ['by-user-source', 'count-total', 'count-minute', 'totals', 'per-minute'],
    ]);
    expect(t.internalTopics()).toEqual([
      { name: 'by-user-repartition', kind: 'repartition', subtopology: 1, config: {} },
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
});

suite('describe and draw (golden files)', () => {
  const t = clicksTopology().build();
  it('describe()', () => golden('clicks.describe.txt', describe(t, 'clicks-app')));
  it('Mermaid', () => golden('clicks.mmd', toMermaid(t, 'clicks-app')));
  it('DOT', () => golden('clicks.dot', toDot(t, 'clicks-app')));
  it('JSON', () => golden('clicks.json', toJson(t, 'clicks-app')));

  it('SVG is well-formed, rendered in-process, and names every node, topic and store', async () => {
    const raw = await toSvg(t, 'clicks-app');
    const svg = raw.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)));
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
    for (const n of t.spec.nodes) expect(svg).toContain(`>${n.name}</text>`);
    for (const s of t.spec.stores) expect(svg).toContain(`>${s.name}</text>`);
    expect(svg).toContain('>clicks-app-by-user-repartition</text>');
    // Well-formed: every opened element is closed, in order.
    const stack: string[] = [];
    for (const m of raw
      .replace(/<\?xml[^>]*>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g, '')
      .matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
      if (m[3] === '/') continue;
      if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
      else stack.push(m[2]!);
    }
    expect(stack).toEqual([]);
  });
});
