/**
 * Every code block of README.md and docs/**.md runs here (the rules, and the directives a
 * page uses, are in test/support/doc-blocks.ts and docs/README.md § How the docs are
 * tested). Blocks that need a Kafka broker run in test/integration/docs-kafka.test.ts.
 * Also: every relative link of those pages leads to a file of the repository, and no file
 * of the repository points to documents outside it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../cli/main.js';
import '../processors/index.js';
import { buildTopology, parseTopology } from '../topology/index.js';
import {
  blocksOf,
  commandsOf,
  markdownFiles,
  programsOf,
  repoRoot,
  runnable,
  type Block,
} from '../test/support/doc-blocks.js';

const out = path.join(repoRoot, 'test-artifacts', 'docs');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-docs-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const scripts = Object.keys(
  (
    JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts,
);
const commandNames = commands.map((c) => c.name);

/** Runs a documented command here: `millrace` is this repository's bin, --out goes to a temp folder. */
function run(cmd: string): string {
  const words = cmd.match(/'[^']*'|"[^"]*"|\S+/g)!.map((w) => w.replace(/^(['"])(.*)\1$/, '$2'));
  if (words[0] === 'npx') words.shift();
  let argv: string[];
  if (words[0] === 'millrace')
    argv = [path.join(repoRoot, 'bin', 'millrace.js'), ...words.slice(1)];
  else if (words[0] === 'tsx') argv = ['--import', 'tsx', ...words.slice(1)];
  else throw new Error(`cannot run ${cmd}`);
  const o = argv.indexOf('--out');
  if (o >= 0) argv[o + 1] = path.join(scratch, path.basename(argv[o + 1]!));
  const r = spawnSync(process.execPath, argv, { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function checkCommands(b: Block): void {
  for (const cmd of commandsOf(b.code)) {
    const script = /^npm run ([\w:-]+)/.exec(cmd)?.[1];
    if (script) expect(scripts, `${cmd}: no such npm script`).toContain(script);
    const sub = /^(?:npx )?millrace (\w+)/.exec(cmd)?.[1];
    if (sub) expect(commandNames, `${cmd}: no such millrace command`).toContain(sub);
  }
}

function runBlock(b: Block): void {
  if (b.sameAs)
    expect(b.code.trim(), `the block should equal ${b.sameAs}`).toBe(
      fs.readFileSync(path.join(repoRoot, b.sameAs), 'utf8').trim(),
    );
  if (b.output !== undefined) {
    expect(b.code.trim()).toBe(run(b.output).trim());
    return;
  }
  switch (b.lang) {
    case 'yaml':
    case 'yml': {
      const doc = parseYaml(b.code) as Record<string, unknown>;
      if (doc && typeof doc === 'object' && 'nodes' in doc) buildTopology(parseTopology(b.code));
      return;
    }
    case 'json':
      JSON.parse(b.code);
      return;
    case 'bash':
    case 'sh':
    case 'shell': {
      checkCommands(b);
      const cmds = commandsOf(b.code);
      const not = cmds.filter((c) => !runnable(c));
      if (b.skip) return;
      if (not.length)
        throw new Error(
          `runs ${not.join('; ')}, which this test cannot run (servers, long runs, files): ` +
            'mark it <!-- docs-test: skip: why --> if it truly cannot run',
        );
      for (const c of cmds) run(c);
      return;
    }
    case 'text':
    case 'mermaid':
      return;
    default:
      if (!b.skip)
        throw new Error(`a ${b.lang || 'fence without a language'}: the docs test cannot run it`);
  }
}

const skipped: string[] = [];

for (const file of markdownFiles()) {
  describe(file, () => {
    const blocks = blocksOf(file);
    it('every fence names its language', () => {
      for (const b of blocks) expect(b.lang, `the block at line ${b.line}`).not.toBe('');
    });
    for (const b of blocks) {
      if (b.skip) skipped.push(`${b.file}:${b.line} (${b.lang}): ${b.skip}`);
      if (/^(ts|typescript)$/.test(b.lang)) continue;
      it(`${b.lang || '(no language)'} block at line ${b.line}`, () => {
        expect(b.lang, 'every fence names its language (text for output)').not.toBe('');
        if (b.skip && !/^(bash|sh|shell)$/.test(b.lang)) return;
        runBlock(b);
      }, 120_000); // a block may start the CLI more than once: seconds apiece on a loaded machine
    }
    for (const p of programsOf(blocks)) {
      const name = p.at.replace(/[/.:]/g, '_') + '.ts';
      fs.writeFileSync(path.join(out, name), p.source);
      if (p.kafka) continue; // test/integration/docs-kafka.test.ts
      it(`ts program at ${p.at}`, async () => {
        await import(pathToFileURL(path.join(out, name)).href);
      }, 60_000);
    }
  });
}

it('type-checks every ts block (tsc, strict, against the sources)', () => {
  fs.writeFileSync(
    path.join(out, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: true },
      include: ['./*.ts'],
      exclude: [],
    }),
  );
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', out], { encoding: 'utf8' });
  expect(r.stdout + r.stderr, 'tsc found errors in the docs').toBe('');
  expect(r.status).toBe(0);
}, 180_000);

it('links only to files of the repository, and nothing cites documents outside it', () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue;
      const p = path.resolve(path.dirname(path.join(repoRoot, file)), target!.split('#')[0]!);
      if (!p.startsWith(repoRoot + path.sep) || !fs.existsSync(p))
        broken.push(`${file}: ${target}`);
    }
  }
  expect(broken).toEqual([]);
  const cites = spawnSync(
    'git',
    ['grep', '-n', '-E', '(DESIGN|STYLE|PROTOCOL)\\.md', '--', '.', ':!bench/results'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  ).stdout;
  expect(cites.split('\n').filter(Boolean)).toEqual([]);
});

afterAll(() => {
  console.log(
    `docs blocks opted out (docs-test: skip), ${skipped.length}:\n  ${skipped.join('\n  ')}`,
  );
});
