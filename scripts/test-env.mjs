// First step of `npm test`: says which Node, npm and Java the run uses (the servers the
// tests start need Java 17+), so a failing run's log shows what it ran on.
import { spawnSync } from 'node:child_process';

/** The first line a tool prints about its version (java prints it on stderr). */
const version = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `${cmd} not found`;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
};
console.log(
  `npm test: node ${process.version}, npm ${version('npm', ['--version'])}, ${version('java', ['-version'])}`,
);
