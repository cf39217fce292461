// prepack: the kafkajs that `npm pack` bundles into the tarball (bundleDependencies) must be
// the patched one. Checks that every change of patches/kafkajs+2.2.4.patch is in
// node_modules/kafkajs (the patch applies in reverse), and that the runtime's own start-up
// check (dist/connectors/kafka/client-check.js, just built) accepts it for exactly-once.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const patches = fs.readdirSync(path.join(root, 'patches')).filter((f) => f.startsWith('kafkajs+'));
const fail = (msg) => {
  console.error(`check-bundled-kafkajs: ${msg}`);
  process.exit(1);
};
if (patches.length !== 1) fail(`expected one kafkajs patch in patches/, found ${patches.length}`);
const patch = path.join('patches', patches[0]);
const version = patches[0].replace(/^kafkajs\+|\.patch$/g, '');
const installed = JSON.parse(
  fs.readFileSync(path.join(root, 'node_modules', 'kafkajs', 'package.json'), 'utf8'),
).version;
if (installed !== version)
  fail(`node_modules/kafkajs is ${installed}, the patch is for ${version}: run \`npm ci\``);

const r = spawnSync('git', ['apply', '--reverse', '--check', patch], {
  cwd: root,
  encoding: 'utf8',
});
if (r.error) fail(`cannot run git to check the patch (${r.error.message})`);
if (r.status !== 0)
  fail(
    `node_modules/kafkajs does not carry ${patch}:\n${r.stderr.trim()}\n` +
      'run `npm ci` (it installs kafkajs afresh and applies the patch) and pack again',
  );

const { checkKafkaClient, loadedKafkaClient } = await import(
  pathToFileURL(path.join(root, 'dist', 'connectors', 'kafka', 'client-check.js')).href
);
const client = loadedKafkaClient();
try {
  checkKafkaClient('exactly_once', client);
} catch (err) {
  fail(err.message);
}
console.log(
  `check-bundled-kafkajs: node_modules/kafkajs ${installed} carries ${patch} (marker v${client.patch.version}: ${client.patch.features.join(', ')})`,
);
