import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const millrace = (...args: string[]) => millraceWith({}, ...args);
const millraceWith = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/millrace.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

// Each test starts the CLI several times (through tsx, from the sources): seconds apiece on
// a loaded machine, so the tests get more time than the unit layer's default.
describe('millrace CLI', { timeout: 120_000 }, () => {
  it('lists commands and gives --help for each', () => {
    const r = millrace('--help');
    expect(r.status).toBe(0);
    for (const c of ['run', 'ingest', 'describe', 'diagram']) {
      expect(r.stdout).toContain(c);
      const h = millrace(c, '--help');
      expect(h.status).toBe(0);
      expect(h.stdout).toContain(`millrace ${c}`);
    }
  });

  it('ends quietly when its reader closes the pipe early (millrace --help | head -1)', async () => {
    const child = spawn(process.execPath, [path.join(root, 'bin/millrace.js'), '--help'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the CLI (seconds to load) writes its first line.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });

  it('takes the heap growing percent from MILLRACE_HEAP_GROWING_PERCENT and names it when it is wrong', () => {
    for (const bad of ['abc', '-5', '301', '12.5']) {
      const r = millraceWith({ MILLRACE_HEAP_GROWING_PERCENT: bad }, '--help');
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `MILLRACE_HEAP_GROWING_PERCENT must be a whole number from 0 to 300 (0 leaves V8's default), got "${bad}"`,
      );
    }
    for (const good of ['0', '100'])
      expect(millraceWith({ MILLRACE_HEAP_GROWING_PERCENT: good }, '--help').status).toBe(0);
  });

  it('runs dist/ when MILLRACE_BUILT=1, and says to build it when it is missing', () => {
    // A copy of bin/ with no dist/ beside it: the sources' absence is not what decides.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-bin-'));
    try {
      fs.cpSync(path.join(root, 'bin'), path.join(dir, 'bin'), { recursive: true });
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/millrace.js'), '--help'], {
        encoding: 'utf8',
        env: { ...process.env, MILLRACE_BUILT: '1' },
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        'MILLRACE_BUILT=1 runs dist/, which is not built: run npm run build',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes and draws the example topologies in every format', () => {
    const d = millrace('describe', 'examples/topologies/clicks.yaml', '--app-id', 'clicks-app');
    expect(d.status).toBe(0);
    expect(d.stdout).toBe(
      fs.readFileSync(path.join(root, 'topology/__golden__/clicks.describe.txt'), 'utf8'),
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-cli-'));
    for (const f of ['mermaid', 'dot', 'svg', 'json', 'png']) {
      const out = path.join(dir, `clicks.${f}`);
      const r = millrace('diagram', 'examples/topologies/clicks.yaml', '--format', f, '--out', out);
      expect(r.status, r.stderr).toBe(0);
      expect(fs.statSync(out).size).toBeGreaterThan(200);
    }
    expect(fs.readFileSync(path.join(dir, 'clicks.png')).subarray(1, 4).toString()).toBe('PNG');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 with a clear message on user errors', () => {
    const missing = millrace('describe', 'no/such.yaml');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/does not exist; pass a topology file/);
    const format = millrace('diagram', 'examples/topologies/clicks.yaml', '--format', 'gif');
    expect(format.status).toBe(2);
    expect(millrace('nonsense').status).toBe(2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-cli-'));
    fs.writeFileSync(
      path.join(dir, 'bad.yaml'),
      'nodes:\n  - { source: in, topics: [t] }\n  - { sink: out, topic: o, parents: [nope] }\n',
    );
    const bad = millrace('describe', path.join(dir, 'bad.yaml'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/sink "out" names an unknown parent "nope"/);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const timeout of ['1s', 'soon']) {
      const sink = millrace('sink', '--session-timeout', timeout, '--metrics-port', '0');
      expect(sink.status).toBe(2);
      expect(sink.stderr).toMatch(
        new RegExp(`--session-timeout ${timeout}: use a duration between 6s and 5m`),
      );
    }
  });
});
