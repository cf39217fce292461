// Rewrites the import-rules table of docs/architecture.md from lint/layers.js:
// `npm run docs:layers` (then prettier aligns it).
import fs from 'node:fs';
import { withLayersTable } from './layers.js';

const file = process.argv[2] ?? 'docs/architecture.md';
fs.writeFileSync(file, withLayersTable(fs.readFileSync(file, 'utf8')));
process.stdout.write(`layers table written to ${file}\n`);
