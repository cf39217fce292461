import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTopology } from './load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
fs.mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
const dir = fs.mkdtempSync(path.join(root, 'test-artifacts', 'load-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An app module exporting topology() that counts `topic`, written as `file` under the temp folder. */
function app(file: string, topic: string): string {
  const p = path.join(dir, file);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const topologyIndex = JSON.stringify(path.join(root, 'topology', 'index.js'));
  fs.writeFileSync(
    p,
    `import { TopologyBuilder } from ${topologyIndex};\n` +
      `export const applicationId = 'from-${topic}';\n` +
      `export function topology() {\n` +
      `  const b = new TopologyBuilder('${topic}-app');\n` +
      `  b.stream('${topic}', { key: 'string', value: 'string' }).groupByKey().count({ name: 'n' }).to('out');\n` +
      `  return b.build();\n}\n`,
  );
  return p;
}

describe('loadTopology', () => {
  it('loads an app module file, .ts or .mjs, named by its file', async () => {
    for (const [file, topic] of [
      ['my-app.ts', 'ts-in'],
      ['other.mjs', 'mjs-in'],
    ] as const) {
      const r = await loadTopology(app(file, topic));
      expect(r.name).toBe(file.replace(/\.\w+$/, ''));
      expect(r.app?.applicationId).toBe(`from-${topic}`);
      expect(r.topology.spec.nodes[0]).toMatchObject({ topics: [topic] });
    }
  });

  it('loads an app folder from app.js when it has no app.ts', async () => {
    app('js-folder/app.js', 'js-in');
    const r = await loadTopology(path.join(dir, 'js-folder'));
    expect(r.name).toBe('js-folder');
    expect(r.app?.applicationId).toBe('from-js-in');
  });

  it('names what is missing', async () => {
    fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
    await expect(loadTopology(path.join(dir, 'empty'))).rejects.toThrow(
      /has no app.ts or app.js; an app folder exports topology\(\) from app.ts \(or app.js\)/,
    );
    fs.writeFileSync(path.join(dir, 'nothing.mjs'), 'export const x = 1;\n');
    await expect(loadTopology(path.join(dir, 'nothing.mjs'))).rejects.toThrow(
      /nothing.mjs does not export topology\(\)/,
    );
  });
});
