import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { commands } from './main.js';

const readme = fs.readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md'),
  'utf8',
);

it("the README's CLI reference lists every command with its current usage", () => {
  for (const c of commands) {
    expect(readme, `README lacks ${c.name}`).toContain(`| \`${c.name}\``);
    expect(readme, `README has an old usage of ${c.name}`).toContain(
      `\`${c.usage.replace(/\|/g, '\\|')}\``,
    );
  }
});
