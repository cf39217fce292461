import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../main.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const examples = fs
  .readdirSync(path.join(root, 'examples/topologies'))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => path.join(root, 'examples/topologies', f));

let out = '';
let err = '';
beforeEach(() => {
  out = err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('millrace describe / diagram on every example topology', () => {
  it.each(examples)('%s', async (file) => {
    expect(await main(['describe', file])).toBe(0);
    expect(out).toMatch(/^Topologies:\n {3}Sub-topology: 0\n {4}Source: /);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-diagram-'));
    for (const format of ['mermaid', 'dot', 'json', 'svg']) {
      const target = path.join(dir, `t.${format}`);
      expect(await main(['diagram', file, '--format', format, '--out', target]), err).toBe(0);
      expect(fs.readFileSync(target, 'utf8').length).toBeGreaterThan(100);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names internal topics after --app-id', async () => {
    expect(
      await main(['describe', examples.find((f) => f.includes('clicks'))!, '--app-id', 'x']),
    ).toBe(0);
    expect(out).toContain('Source: by-user-source (topics: [x-by-user-repartition])');
  });

  it('exits 2 on a file that is not YAML, naming the line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-describe-'));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'nodes: [ { source: in ');
    expect(await main(['describe', path.join(dir, 'bad.yaml')])).toBe(2);
    expect(err).toMatch(/millrace describe: the topology file is not valid YAML: .*line/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives --help for describe and diagram, and exits 2 without a topology', async () => {
    expect(await main(['describe', '--help'])).toBe(0);
    expect(out).toContain('millrace describe <topology.yaml');
    expect(await main(['diagram', '--help'])).toBe(0);
    expect(out).toContain('--format F');
    expect(await main(['diagram'])).toBe(2);
    expect(err).toMatch(/millrace diagram: which topology\? — usage: millrace diagram <topology/);
  });
});
