// The parts of millrace and who may import whom: the one table that eslint enforces
// (rule `millrace/layers`) and docs/architecture.md shows (its import-rules table is
// generated from this one: `npm run docs:layers`; lint/layers.test.ts keeps them equal).
//
// A part is a folder (or a file); a file belongs to the longest part that holds it. A file
// may import its own part and the targets its part lists; a target is a part or a narrower
// path inside one (`state/api`: only that module). `may: '*'` allows every part except
// those in `not`. Tests beside the code (`*.test.ts` outside test/) may import any part,
// as they did before this rule; packages are checked for them too.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The store and serde contracts: what processors/ and connectors/ see of state/. */
const STATE_API = ['state/api', 'state/serdes'];
/** What every connector may see of the framework: the topology and the state contracts. */
const FRAMEWORK_API = ['topology', ...STATE_API];

/** @type {Array<{ part: string, owns: string, may: string[] | '*', not?: string[] }>} */
export const LAYERS = [
  {
    part: 'topology',
    owns: 'the topology spec, its builder, validation, sub-topologies, describe() and diagrams',
    may: [],
  },
  {
    part: 'state',
    owns: 'store interfaces and serdes, the LevelDB and in-memory stores, changelogging, checkpoints',
    may: [],
  },
  {
    part: 'processors',
    owns: 'the Processor contract and the built-in processors',
    may: ['topology', ...STATE_API],
  },
  {
    part: 'runtime',
    owns: 'the engine: group membership, tasks, restore, commits and transactions, the test driver',
    may: ['topology', 'state', 'processors', 'connectors/kafka'],
  },
  {
    part: 'connectors/common',
    owns: 'what several connectors share (reconnect and retry backoff)',
    may: [],
  },
  {
    part: 'connectors/kafka',
    owns: 'the Kafka client setup, admin helpers, a keyed idempotent producer, topic tails',
    may: ['connectors/common', ...FRAMEWORK_API],
  },
  {
    part: 'connectors/finnhub',
    owns: 'Finnhub sources (WebSocket, synthetic, replay) and the ingest into Kafka',
    may: ['connectors/common', 'connectors/kafka', ...FRAMEWORK_API],
  },
  {
    part: 'connectors/registry',
    owns: 'the Confluent-compatible schema registry client and Avro serdes',
    may: ['connectors/common', ...FRAMEWORK_API],
  },
  {
    part: 'connectors/warehouse',
    owns: 'what both warehouse sinks share: tables, rows, offsets, batches, errors',
    may: ['connectors/common', ...FRAMEWORK_API],
  },
  {
    part: 'connectors/duckdb',
    owns: 'the embedded DuckDB sink',
    may: ['connectors/common', 'connectors/warehouse', ...FRAMEWORK_API],
  },
  {
    part: 'connectors/snowflake',
    owns: 'the Snowflake sink (snowflake-sdk)',
    may: ['connectors/common', 'connectors/warehouse', ...FRAMEWORK_API],
  },
  {
    part: 'observability',
    owns: 'metrics (prom-client), the HTTP server, status page and instance views',
    may: ['topology', 'runtime'],
  },
  {
    part: 'apps',
    owns: 'programs built with the framework: finnhub-vwap',
    may: '*',
    not: ['cli', 'deploy', 'test', 'bench', 'examples'],
  },
  {
    part: 'cli',
    owns: 'the millrace command',
    may: '*',
    not: ['deploy', 'test', 'bench', 'examples'],
  },
  {
    part: 'deploy',
    owns: 'the local stack without Docker, dashboards, manifests',
    may: ['connectors/kafka'],
  },
  {
    part: 'harness',
    owns: 'child processes and ports that tests and benchmarks share',
    may: [],
  },
  { part: 'bench', owns: 'benchmarks', may: '*', not: ['test'] },
  { part: 'test', owns: 'integration and e2e tests and their support code', may: '*' },
  { part: 'examples', owns: 'example topologies', may: ['topology', 'processors', 'state'] },
  {
    part: 'index',
    owns: 'the public entry point `millrace`',
    may: ['topology', 'processors', 'state', 'runtime'],
  },
  {
    part: 'testing',
    owns: 'the public entry point `millrace/testing`',
    may: ['runtime'],
  },
  { part: 'bin', owns: 'the executable', may: ['cli'] },
];

/** Packages that only some parts may import (test/ and bench/ may import any). */
export const PACKAGES = {
  kafkajs: ['connectors/kafka', 'runtime'],
  level: ['state'],
  'classic-level': ['state'],
  '@duckdb/node-api': ['connectors/duckdb'],
  'snowflake-sdk': ['connectors/snowflake'],
  avsc: ['connectors/registry'],
  ws: ['connectors/finnhub'],
  'prom-client': ['observability'],
};

const within = (p, prefix) => p === prefix || p.startsWith(prefix + '/');
const stripExt = (p) => p.replace(/\.(ts|js|mjs|cjs|d\.ts)$/, '');

/** The part `rel` (a path from the repository root, no extension) belongs to, if any. */
export function partOf(rel) {
  let best;
  for (const l of LAYERS)
    if (within(rel, l.part) && (!best || l.part.length > best.part.length)) best = l;
  return best;
}

/** Why `fromRel` may not import `toRel` (both repository paths), or undefined when it may. */
export function forbiddenImport(fromRel, toRel) {
  const from = partOf(stripExt(fromRel));
  const to = stripExt(toRel);
  const target = partOf(to);
  if (!from || !target || target === from) return undefined;
  if (from.may === '*') {
    if (!(from.not ?? []).some((n) => within(to, n))) return undefined;
  } else if (from.may.some((m) => within(to, m))) return undefined;
  return `${from.part}/ may import ${describeMay(from)}`;
}

/** Why a file of `fromRel` may not import package `name`, or undefined when it may. */
export function forbiddenPackage(fromRel, name) {
  const allowed = PACKAGES[name];
  if (!allowed) return undefined;
  const rel = stripExt(fromRel);
  if (within(rel, 'test') || within(rel, 'bench')) return undefined;
  if (allowed.some((a) => within(rel, a))) return undefined;
  return `${name} is used only under ${allowed.map((a) => `${a}/`).join(' and ')}`;
}

/** The rule of one part in words: "only topology/ and runtime/", "anything but test/". */
export function describeMay(layer) {
  if (layer.may === '*')
    return layer.not?.length
      ? `anything but ${layer.not.map((n) => `${n}/`).join(', ')}`
      : 'anything';
  if (!layer.may.length) return 'nothing else of ours';
  return `only ${layer.may.map((m) => (STATE_API.includes(m) ? `${m}.ts` : `${m}/`)).join(', ')}`;
}

/** The import-rules table of docs/architecture.md. */
export function layersTableMarkdown() {
  const rows = LAYERS.map((l) => {
    const name = ['index', 'testing'].includes(l.part) ? `${l.part}.ts` : `${l.part}/`;
    return `| \`${name}\` | ${l.owns} | ${describeMay(l)} |`;
  });
  const pkgs = Object.entries(PACKAGES).map(
    ([name, parts]) => `\`${name}\`: ${parts.map((p) => `${p}/`).join(', ')}`,
  );
  return [
    '| part | owns | may import (besides itself) |',
    '| --- | --- | --- |',
    ...rows,
    '',
    `Packages only some parts use (test/ and bench/ may use any): ${pkgs.join('; ')}.`,
  ].join('\n');
}

function packageName(source) {
  const parts = source.split('/');
  return source.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The eslint rule: every import, re-export and literal dynamic import is checked. */
const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layering of docs/architecture.md' },
    schema: [],
  },
  create(context) {
    const rel = path.relative(ROOT, context.filename).split(path.sep).join('/');
    if (rel.startsWith('..')) return {};
    const colocatedTest = /\.test\.ts$/.test(rel) && !within(rel, 'test');
    const check = (node, source) => {
      if (typeof source !== 'string' || source.startsWith('node:')) return;
      let why;
      if (source.startsWith('.')) {
        if (colocatedTest) return;
        const to = path.relative(ROOT, path.resolve(path.dirname(context.filename), source));
        why = forbiddenImport(rel, to.split(path.sep).join('/'));
      } else why = forbiddenPackage(rel, packageName(source));
      if (why)
        context.report({
          node,
          message: `${rel} may not import '${source}': ${why} (docs/architecture.md, lint/layers.js)`,
        });
    };
    const fromSource = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) =>
        node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export const layersPlugin = { rules: { layers: layersRule } };

export const TABLE_START = '<!-- layers-table:start (generated by `npm run docs:layers`) -->';
export const TABLE_END = '<!-- layers-table:end -->';

/** `doc` with the generated table between the markers (throws when they are missing). */
export function withLayersTable(doc) {
  const a = doc.indexOf(TABLE_START);
  const b = doc.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error(`no layers table markers (${TABLE_START} … ${TABLE_END})`);
  return `${doc.slice(0, a + TABLE_START.length)}\n\n${layersTableMarkdown()}\n\n${doc.slice(b)}`;
}
