import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { commands } from './main.js';

const readme = fs.readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'operations', 'cli.md'),
  'utf8',
);

it('the CLI reference (docs/operations/cli.md) lists every command with its current usage', () => {
  for (const c of commands) {
    expect(readme, `docs/operations/cli.md lacks ${c.name}`).toContain(`| \`${c.name}\``);
    expect(readme, `docs/operations/cli.md has an old usage of ${c.name}`).toContain(
      `\`${c.usage.replace(/\|/g, '\\|')}\``,
    );
  }
});
