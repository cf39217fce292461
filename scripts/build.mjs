// `npm run build`: compiles the package into dist/ (JavaScript + declarations, from
// tsconfig.build.json) and copies the data files the compiled code reads beside it
// (schemas/: the Avro schemas and the sink DDL, found as ../../schemas from the code).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

fs.rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);

const assets = fs.readdirSync(path.join(root, 'schemas')).filter((f) => /\.(avsc|sql)$/.test(f));
fs.mkdirSync(path.join(dist, 'schemas'));
for (const f of assets)
  fs.copyFileSync(path.join(root, 'schemas', f), path.join(dist, 'schemas', f));
const files = fs.readdirSync(dist, { recursive: true }).filter((f) => /\.js$/.test(f)).length;
console.log(`build: dist/ has ${files} JavaScript files and ${assets.length} schema files`);
