import fs from 'node:fs';
import path from 'node:path';
import { describe as suite, expect, it } from 'vitest';
import '../processors/index.js';
import { activityTopology } from '../examples/topologies/activity.js';
import { clicksTopology } from '../examples/topologies/clicks.js';
import { ordersTopology } from '../examples/topologies/orders.js';
import { describe, toDot, toJson, toMermaid, toSvg, TopologyBuilder, tumbling } from './index.js';

const here = path.dirname(new URL(import.meta.url).pathname);

/**
 * Compares with a golden file. A missing one fails — on every machine, so that a test
 * never passes by writing what it compares against; `UPDATE_GOLDEN=1` writes or rewrites it.
 */
function golden(name: string, actual: string) {
  const file = path.join(here, '__golden__', name);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
  } else if (!fs.existsSync(file))
    throw new Error(
      `golden file topology/__golden__/${name} is missing: run the test with UPDATE_GOLDEN=1 and commit the file`,
    );
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

/** Element names of `xml`, checking every opened element is closed in order (throws if not). */
function wellFormed(xml: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  const body = xml.replace(/<\?xml[^>]*>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)(?:\s[^>]*?)?(\/?)>/g)) {
    if (m[1] === '/') {
      const open = stack.pop();
      if (open !== m[2]) throw new Error(`</${m[2]}> closes <${open}>`);
    } else {
      seen.push(m[2]!);
      if (m[3] !== '/') stack.push(m[2]!);
    }
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(', ')}`);
  expect(body.replace(/<[^>]*>/g, '')).not.toMatch(/[<>]/);
  return seen;
}

suite('describe and draw the multi-sub-topology example (golden files)', () => {
  const t = clicksTopology().build('clicks-app');
  it('describe()', () => golden('clicks.describe.txt', describe(t)));
  it('Mermaid', () => golden('clicks.mmd', toMermaid(t)));
  it('DOT', () => golden('clicks.dot', toDot(t)));
  it('JSON', () => golden('clicks.json', toJson(t)));

  it('SVG is well-formed XML, rendered in-process, and names every node, topic and store', async () => {
    const raw = await toSvg(t);
    expect(raw).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
    expect(wellFormed(raw)).toContain('svg');
    const svg = raw.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)));
    for (const n of t.spec.nodes) expect(svg).toContain(`>${n.name}</text>`);
    for (const s of t.spec.stores) expect(svg).toContain(`>${s.name}</text>`);
    for (const topic of ['clicks', 'clicks-app-by-user-repartition', 'clicks-per-user'])
      expect(svg).toContain(`>${topic}</text>`);
  });

  it('draws stores and internal topics distinctly', () => {
    const dot = toDot(t);
    expect(dot).toMatch(/n_s_clicks_total \[.*shape=cylinder/);
    expect(dot).toMatch(/n_t_clicks_app_by_user_repartition \[.*style="dashed,filled"/);
    expect(dot).toMatch(/n_t_clicks \[.*style="filled"/);
    const mmd = toMermaid(t);
    expect(mmd).toContain(
      'n_t_clicks_app_by_user_repartition(["clicks-app-by-user-repartition"]):::internal',
    );
    expect(mmd).toContain('n_s_clicks_total[("clicks-total")]:::store');
  });
});

suite('describe and draw windows, joins and a global table (golden files)', () => {
  for (const [name, t] of [
    ['activity', activityTopology().build('activity')],
    ['orders', ordersTopology().build('orders')],
  ] as const) {
    it(`${name}: describe(), Mermaid, DOT, JSON`, () => {
      golden(`${name}.describe.txt`, describe(t));
      golden(`${name}.mmd`, toMermaid(t));
      golden(`${name}.dot`, toDot(t));
      golden(`${name}.json`, toJson(t));
    });
  }
});

suite('describe()', () => {
  it('has the shape of Kafka Streams TopologyDescription, with --> none for leaves', () => {
    const b = new TopologyBuilder();
    b.stream('in', { key: 'string', value: 'json' }, 'src').peek(() => {}, 'look');
    expect(describe(b.build())).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: src (topics: [in])',
        '      --> look',
        '    Processor: look (stores: [])',
        '      --> none',
        '      <-- src',
        '',
      ].join('\n'),
    );
  });

  it('without an application id names internal topics <app>-…', () => {
    const b = new TopologyBuilder();
    b.stream('in', { key: 'string', value: 'json' })
      .selectKey(() => 'k', 'rekey')
      .groupByKey()
      .windowedBy(tumbling(1000))
      .count({ name: 'w' });
    const text = describe(b.build());
    expect(text).toContain('Sink: rekey-sink (topic: <app>-rekey-repartition)');
    expect(text).toContain(
      '<app>-w-store-changelog (changelog, partitions of sub-topology 1, cleanup.policy=compact,delete, retention.ms=86401000)',
    );
    expect(text).toContain(
      '<app>-rekey-repartition (repartition, partitions of sub-topology 1, cleanup.policy=delete, retention.ms=-1)',
    );
  });

  it('labels named outputs in diagrams', () => {
    const b = new TopologyBuilder();
    const w = b
      .stream('in', { key: 'string', value: 'json' })
      .groupByKey()
      .windowedBy(tumbling(1000))
      .count({ name: 'w' });
    w.output('late').to('late-events', undefined, 'late-sink');
    const t = b.build();
    expect(toMermaid(t)).toContain('n_w -->|late| n_late_sink');
    expect(toDot(t)).toContain('n_w -> n_late_sink [label="late"];');
    expect(describe(t)).toContain('<-- w:late');
  });
});
