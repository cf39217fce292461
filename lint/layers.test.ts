import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Linter } from 'eslint';
import { describe, expect, it } from 'vitest';
import { tableCells } from '../observability/metrics-doc.js';
import {
  forbiddenImport,
  forbiddenPackage,
  layersPlugin,
  layersTableMarkdown,
  TABLE_END,
  TABLE_START,
} from './layers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The messages `millrace/layers` gives for `code` as the file `file` (repository path). */
function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  return linter
    .verify(
      code,
      [
        {
          files: ['**/*.ts'],
          languageOptions: { sourceType: 'module', ecmaVersion: 'latest' },
          plugins: { millrace: layersPlugin },
          rules: { 'millrace/layers': 'error' },
        },
      ],
      { filename: path.join(root, file) },
    )
    .map((m) => m.message);
}

describe('the layering rule', () => {
  it('lets each part import what its row allows, and nothing else', () => {
    expect(forbiddenImport('topology/build.ts', 'topology/spec.js')).toBeUndefined();
    expect(forbiddenImport('topology/build.ts', 'state/api.js')).toBe(
      'topology/ may import nothing else of ours',
    );
    expect(forbiddenImport('processors/market/vwap.ts', 'state/api.js')).toBeUndefined();
    expect(forbiddenImport('processors/market/vwap.ts', 'state/caching.js')).toMatch(
      /^processors\/ may import only topology\/, state\/api.ts/,
    );
    expect(forbiddenImport('runtime/app.ts', 'connectors/kafka/client.js')).toBeUndefined();
    expect(forbiddenImport('runtime/app.ts', 'connectors/finnhub/index.js')).toBeDefined();
    expect(forbiddenImport('connectors/kafka/tail.ts', 'runtime/app.js')).toBeDefined();
    expect(
      forbiddenImport('connectors/kafka/tail.ts', 'connectors/finnhub/types.js'),
    ).toBeDefined();
    expect(forbiddenImport('observability/view.ts', 'runtime/observed.js')).toBeUndefined();
    expect(forbiddenImport('observability/view.ts', 'state/index.js')).toBeDefined();
    expect(forbiddenImport('cli/commands/demo.ts', 'deploy/local/infra.js')).toMatch(
      /^cli\/ may import anything but deploy\//,
    );
    expect(forbiddenImport('bench/engine.ts', 'harness/processes.js')).toBeUndefined();
    expect(forbiddenImport('bench/engine.ts', 'test/support/kafka-helpers.js')).toBeDefined();
    expect(forbiddenImport('test/e2e/x.test.ts', 'deploy/local/infra.js')).toBeUndefined();
  });

  it('keeps packages to the parts that own them (tests and benchmarks use any)', () => {
    expect(forbiddenPackage('runtime/app.ts', 'kafkajs')).toBeUndefined();
    expect(forbiddenPackage('state/index.ts', 'kafkajs')).toBe(
      'kafkajs is used only under connectors/kafka/ and runtime/',
    );
    expect(forbiddenPackage('observability/metrics.ts', 'level')).toBeDefined();
    expect(forbiddenPackage('test/e2e/x.test.ts', 'kafkajs')).toBeUndefined();
    expect(forbiddenPackage('cli/main.ts', 'zod')).toBeUndefined();
  });

  it('checks imports, re-exports and literal dynamic imports; tests beside the code may cross parts', () => {
    const code = [
      "import { a } from '../processors/api.js';",
      "export { b } from '../state/index.js';",
      "export * from '../topology/index.js';",
      "const c = await import('../connectors/duckdb/index.js');",
      "import { Kafka } from 'kafkajs';",
      "import fs from 'node:fs';",
    ].join('\n');
    const messages = lint('observability/x.ts', code);
    expect(messages).toHaveLength(4);
    expect(messages[0]).toBe(
      "observability/x.ts may not import '../processors/api.js': observability/ may import only topology/, runtime/ (docs/architecture.md, lint/layers.js)",
    );
    expect(messages[3]).toMatch(/'kafkajs': kafkajs is used only under/);
    expect(lint('observability/x.test.ts', code)).toEqual([expect.stringMatching(/'kafkajs'/)]);
  });

  it('is the table docs/architecture.md shows', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
    const a = doc.indexOf(TABLE_START);
    const b = doc.indexOf(TABLE_END);
    expect(a, 'docs/architecture.md has the table markers').toBeGreaterThan(0);
    const inDoc = doc.slice(a + TABLE_START.length, b);
    expect(tableCells(inDoc), 'run npm run docs:layers').toEqual(tableCells(layersTableMarkdown()));
    const packagesLine = (s: string) => s.split('\n').find((l) => l.startsWith('Packages'));
    expect(packagesLine(inDoc)).toBe(packagesLine(layersTableMarkdown()));
  });
});
