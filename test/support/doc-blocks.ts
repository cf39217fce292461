/**
 * The code blocks of README.md and docs/**.md, and how each is run (docs/code-blocks.test.ts
 * runs them; test/integration/docs-kafka.test.ts runs the ones that need a broker).
 *
 * Every fenced block names its language. What runs:
 * - `ts`: as a program, with `millrace` and `millrace/testing` imported from the sources;
 *   also type-checked. A line `expr; // → value` checks that `expr` equals `value` (a JS
 *   expression; continued on following `//` lines while its brackets are open).
 * - `yaml`: parsed; a topology (it has `nodes:`) is also built.
 * - `json`: parsed.
 * - `bash`: every `npm run X` must be a script and every `millrace X` a command; the block
 *   runs when each of its commands is one the test can run here (`millrace describe`,
 *   `diagram`, `--help`, `npx tsx cli/reference.ts`, …).
 * - `text` and `mermaid`: prose, unless a directive says what printed them (`output:`).
 *
 * Directives are HTML comments right before a block (invisible on GitHub):
 * - `<!-- docs-test: skip: REASON -->` the block is not run (the only opt-out; grep for
 *   `docs-test: skip`). Keep these for blocks that truly cannot run in a test.
 * - `<!-- docs-test: continue -->` a ts block goes on from the previous ts block of the page.
 * - `<!-- docs-test: prelude ... -->`, `<!-- docs-test: after ... -->` hidden code run
 *   before / after a ts block (e.g. a topology the snippet uses, or closing an app).
 * - `<!-- docs-test: kafka; topics: a, b -->` a ts block that needs a broker: run by the
 *   integration layer, with those topics created and `localhost:9092` replaced by the
 *   test's broker.
 * - `<!-- docs-test: output: COMMAND -->` a text/mermaid block is what COMMAND prints.
 * - `<!-- docs-test: file: PATH -->` a block equals the file PATH of the repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Block {
  /** Path from the repository root. */
  file: string;
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  code: string;
  skip?: string;
  continues: boolean;
  prelude: string;
  after: string;
  kafka?: { topics: string[] };
  output?: string;
  sameAs?: string;
}

/** README.md and every .md under docs/, as paths from the repository root. */
export function markdownFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(repoRoot, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f))
    .sort();
  return ['README.md', ...docs];
}

const DIRECTIVE = /<!--\s*docs-test:\s*([\s\S]*?)-->/g;

/** The fenced blocks of one Markdown file, with the directives right before each. */
export function blocksOf(file: string): Block[] {
  const lines = fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  let pending: string[] = [];
  let comment: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (comment) {
      comment.push(line);
      if (line.includes('-->')) {
        pending.push(comment.join('\n'));
        comment = undefined;
      }
      continue;
    }
    if (/^\s*<!--\s*docs-test:/.test(line)) {
      if (line.includes('-->')) pending.push(line);
      else comment = [line];
      continue;
    }
    const fence = /^(\s*)(`{3,})(.*)$/.exec(line);
    if (!fence) {
      if (line.trim()) pending = [];
      continue;
    }
    const [, indent, ticks, info] = fence;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trim() === ticks) break;
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!);
    }
    blocks.push(block(file, i + 1, info!.trim(), body.join('\n'), pending.join('\n')));
    pending = [];
    i = j;
  }
  return blocks;
}

function block(file: string, line: number, lang: string, code: string, directives: string): Block {
  const b: Block = { file, line, lang, code, continues: false, prelude: '', after: '' };
  for (const [, raw] of directives.matchAll(DIRECTIVE)) {
    const d = raw!.trim();
    const [word] = d.split(/[\s:;]/, 1);
    const rest = d.slice(word!.length).replace(/^[\s:]*/, '');
    if (word === 'skip') b.skip = rest || '(no reason given)';
    else if (word === 'continue') b.continues = true;
    else if (word === 'prelude') b.prelude += rest + '\n';
    else if (word === 'after') b.after += rest + '\n';
    else if (word === 'kafka')
      b.kafka = {
        topics: (/topics:\s*([^;]*)/.exec(rest)?.[1] ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      };
    else if (word === 'output') b.output = rest;
    else if (word === 'file') b.sameAs = rest;
    else throw new Error(`${file}:${line}: unknown docs-test directive "${d}"`);
  }
  return b;
}

/** A runnable TypeScript program: a ts block with the blocks it continues from. */
export interface Program {
  /** Where it starts, for messages: `file:line`. */
  at: string;
  blocks: Block[];
  kafka?: { topics: string[] };
  source: string;
}

const IMPORTS: Array<[RegExp, string]> = [
  [/(['"])millrace\/testing\1/g, path.join(repoRoot, 'testing.js')],
  [/(['"])millrace\1/g, path.join(repoRoot, 'index.js')],
];

/** The ts blocks of a file as programs (a `continue` block joins the one before it). */
export function programsOf(blocks: Block[]): Program[] {
  const out: Program[] = [];
  for (const b of blocks.filter((x) => /^(ts|typescript)$/.test(x.lang) && !x.skip)) {
    const prev = out.at(-1);
    if (b.continues) {
      if (!prev) throw new Error(`${b.file}:${b.line}: "continue" with no ts block before it`);
      // A block needing a broker after ones that do not: the earlier ones still run on their
      // own, and again, with this one, where there is a broker.
      if (b.kafka && !prev.kafka)
        out.push({
          at: `${b.file}:${b.line}`,
          blocks: [...prev.blocks, b],
          source: '',
          kafka: b.kafka,
        });
      else prev.blocks.push(b);
    } else
      out.push({
        at: `${b.file}:${b.line}`,
        blocks: [b],
        source: '',
        ...(b.kafka ? { kafka: b.kafka } : {}),
      });
  }
  for (const p of out) p.source = programSource(p.blocks);
  return out;
}

function programSource(blocks: Block[]): string {
  const parts = [`import { expect as __expect } from 'vitest';`];
  for (const b of blocks) {
    parts.push(`// ${b.file}:${b.line}`, b.prelude, withChecks(b), b.after);
  }
  let src = parts.join('\n');
  // Imports first (a continued block may import too): ES modules hoist them anyway.
  for (const [re, to] of IMPORTS) src = src.replace(re, `'${to}'`);
  return src + '\nexport {};\n';
}

/** `expr; // → value` becomes a check that expr equals value. */
function withChecks(b: Block): string {
  const lines = b.code.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(.*?);?\s*\/\/ → (.*)$/.exec(lines[i]!);
    if (!m || !m[2]!.trim()) {
      out.push(lines[i]!);
      continue;
    }
    let value = m[3]!;
    while (!balanced(value) && /^\s*\/\/\s?/.test(lines[i + 1] ?? '')) {
      value += '\n' + lines[++i]!.replace(/^\s*\/\/\s?/, '');
    }
    if (!balanced(value))
      throw new Error(`${b.file}:${b.line + i + 1}: the value after → is not complete: ${value}`);
    out.push(
      `${m[1]}__expect(${m[2]}, ${JSON.stringify(`${b.file}, line ${b.line + i + 1}`)}).toEqual(${value});`,
    );
  }
  return out.join('\n');
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const c of s.replace(/(['"`])(?:\\.|(?!\1).)*\1/g, '')) {
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
  }
  return depth === 0;
}

/** One shell command of a bash block (continuation lines joined, comments dropped). */
export function commandsOf(code: string): string[] {
  const joined = code.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/** Commands the docs test runs (no servers, nothing written outside a temp folder). */
export function runnable(cmd: string): boolean {
  return (
    /^(npx )?millrace (describe|diagram) /.test(cmd) ||
    /^(npx )?millrace( \w+)? --help$/.test(cmd) ||
    cmd === 'npx tsx cli/reference.ts'
  );
}
