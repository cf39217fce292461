/**
 * The CLI reference (docs/operations/cli.md), generated from the commands themselves:
 * `npx tsx cli/reference.ts` prints the table; cli/reference.test.ts keeps the page in step.
 */
import { commands } from './main.js';

/** One row per command: name, summary, usage (pipes escaped for Markdown tables). */
export function cliReferenceMarkdown(): string {
  const rows = commands.map(
    (c) => `| \`${c.name}\` | ${c.summary} | \`${c.usage.replace(/\|/g, '\\|')}\` |`,
  );
  return ['| command | what | usage |', '| --- | --- | --- |', ...rows].join('\n');
}

if (process.argv[1] && /cli[\\/]reference\.[tj]s$/.test(process.argv[1]))
  process.stdout.write(cliReferenceMarkdown() + '\n');
