/**
 * millrace installed the way a user installs it: `npm pack` (which builds dist/ and checks
 * the bundled kafkajs), then `npm i <tarball>` into a new project outside the repository
 * (no workspace links), beside the project's own unpatched kafkajs 2.2.4. Everything then
 * runs with plain `node` in that project: a builder topology through the test driver of
 * `millrace/testing`, from an ES module (`import`) and from a CommonJS one (`require`);
 * `npx millrace describe` and `diagram` on a YAML file; `tsc --noEmit --strict` on
 * TypeScript files using the public types (an ES module and a CommonJS one); and an exactly-once counting app
 * against the test's Kafka, two instances of it, one stopped (SIGSTOP) until the other
 * took its tasks, then resumed: it must be fenced, and the output must count every input
 * record exactly once. Last, the same app on a kafkajs without millrace's patch marker
 * must refuse to start and name the fix.
 *
 * Needs the npm registry only for what the tarball's dependencies need (or npm's cache).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopics, produce, readUntil, valuesByKey } from '../support/kafka-helpers.js';
import { useKafkaRun } from '../support/kafka-run.js';
import { startProcess, stopAll, type Child } from '../support/processes.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = path.join(repoRoot, 'test', 'e2e', 'install-as-user');
const { run, kafka, dir: tmp } = useKafkaRun('e2e-install', 'millrace-install-', stopAll);
const project = path.join(tmp, 'project');
let tarball = '';
let tarFiles: string[] = [];

function sh(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${what} exited ${r.status}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
    );
  return r.stdout;
}

/**
 * The environment of a command run in the user's project: none of the settings npm gives
 * the scripts of this repository (npm_*, INIT_CWD), no NODE_OPTIONS (no loader); npm
 * prefers its cache to the registry.
 */
const userEnv: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !/^(npm_|INIT_CWD$|NODE_OPTIONS$)/i.test(e[0]),
    ),
  ),
  npm_config_prefer_offline: 'true',
};

beforeAll(async () => {
  expect(path.relative(repoRoot, tmp).startsWith('..')).toBe(true);
  // npm pack runs prepack: `npm run build`, then the check that node_modules/kafkajs
  // carries patches/kafkajs+2.2.4.patch.
  ok(sh('npm', ['pack', '--pack-destination', tmp], repoRoot), 'npm pack');
  tarball = path.join(
    tmp,
    fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'))!,
  );
  tarFiles = ok(sh('tar', ['tzf', tarball], tmp), 'tar tzf')
    .split('\n')
    .filter((f) => f && !f.endsWith('/'))
    .map((f) => f.replace(/^package\//, ''));
  console.log(
    `[install-as-user] ${path.basename(tarball)}: ${(fs.statSync(tarball).size / 1024).toFixed(0)} KiB, ${tarFiles.length} files ` +
      `(${tarFiles.filter((f) => f.startsWith('node_modules/')).length} of them the bundled kafkajs)`,
  );

  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'millrace-user', private: true, type: 'module' }, null, 2),
  );
  for (const f of fs.readdirSync(fixtures))
    fs.copyFileSync(path.join(fixtures, f), path.join(project, f));
  fs.copyFileSync(
    path.join(repoRoot, 'examples', 'topologies', 'clicks.yaml'),
    path.join(project, 'clicks.yaml'),
  );
  // The project depends on the published kafkajs 2.2.4 itself too: millrace must still
  // load its own patched copy.
  const t0 = Date.now();
  ok(
    sh('npm', ['install', '--no-audit', '--no-fund', tarball, 'kafkajs@2.2.4'], project, userEnv),
    'npm install of the tarball',
  );
  console.log(`[install-as-user] npm install took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 600_000);

describe('millrace installed from its tarball into a new project', () => {
  it('ships the built JavaScript, its declarations and the patched kafkajs; no sources, tests, benchmarks or local state', () => {
    for (const f of [
      'package.json',
      'bin/millrace.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing.js',
      'dist/testing.d.ts',
      'dist/schemas/trade.avsc',
      'node_modules/kafkajs/millrace-patch.json',
    ])
      expect(tarFiles).toContain(f);
    const own = tarFiles.filter((f) => !f.startsWith('node_modules/kafkajs/'));
    expect(
      own.filter((f) => /\.test\.|^test\/|^bench\/|^\.run\/|^\.cache\/|^data\//.test(f)),
    ).toEqual([]);
    expect(own.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const pkg = path.join(project, 'node_modules', 'millrace');
    expect(fs.existsSync(path.join(pkg, 'node_modules', 'kafkajs', 'millrace-patch.json'))).toBe(
      true,
    );
    // The project's own kafkajs is the published one, without millrace's marker.
    expect(
      fs.existsSync(path.join(project, 'node_modules', 'kafkajs', 'millrace-patch.json')),
    ).toBe(false);
  });

  it.each(['driver.mjs', 'driver.cjs'])(
    'runs a builder topology through the test driver of millrace/testing with plain node (%s)',
    (driver) => {
      const out = ok(sh(process.execPath, [driver], project, userEnv), `node ${driver}`);
      expect(JSON.parse(out)).toEqual({
        totals: [
          ['ann', 1],
          ['bob', 1],
          ['ann', 2],
          ['bob', 2],
        ],
        perMinute: [
          ['ann', { window_start: 0, window_end: 60_000, value: 1 }],
          ['bob', { window_start: 0, window_end: 60_000, value: 1 }],
        ],
        annInStore: 2,
        deadLetters: ['missing_field_user'],
      });
    },
  );

  it('describes and draws a YAML topology with npx millrace', () => {
    const describe = ok(
      sh(
        'npx',
        ['millrace', 'describe', 'clicks.yaml', '--app-id', 'clicks-app'],
        project,
        userEnv,
      ),
      'npx millrace describe',
    );
    expect(describe).toBe(
      fs.readFileSync(path.join(repoRoot, 'topology/__golden__/clicks.describe.txt'), 'utf8'),
    );
    const mermaid = ok(
      sh('npx', ['millrace', 'diagram', 'clicks.yaml', '--app-id', 'clicks-app'], project, userEnv),
      'npx millrace diagram',
    );
    expect(mermaid.trim()).toBe(
      fs.readFileSync(path.join(repoRoot, 'topology/__golden__/clicks.mmd'), 'utf8').trim(),
    );
    ok(
      sh(
        'npx',
        ['millrace', 'diagram', 'clicks.yaml', '--format', 'svg', '--out', 'clicks.svg'],
        project,
        userEnv,
      ),
      'npx millrace diagram --format svg',
    );
    const svg = fs.readFileSync(path.join(project, 'clicks.svg'), 'utf8');
    expect(svg).toMatch(/<svg[\s\S]*>Sub&#45;topology 1<[\s\S]*>by&#45;user<[\s\S]*<\/svg>\s*$/);
  });

  it('names tsx when given a TypeScript app without it (the package itself needs no TypeScript loader)', () => {
    const r = sh('npx', ['millrace', 'describe', 'consumer.ts'], project, userEnv);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'consumer.ts is TypeScript, and millrace loads TypeScript with tsx, which is not installed: run `npm i -D tsx`',
    );
  });

  it('type-checks TypeScript consumers of the public API (an ES module and a CommonJS one) with tsc --noEmit --strict', () => {
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      ...['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'],
      ...['--target', 'es2022'],
    ];
    ok(
      sh(process.execPath, [tsc, ...args, 'consumer.ts', 'consumer.cts'], project, userEnv),
      'tsc --noEmit --strict consumer.ts consumer.cts',
    );
    // …and the check is real: a misuse of the same types fails it.
    fs.writeFileSync(
      path.join(project, 'misuse.ts'),
      "import { StreamsApp } from 'millrace';\nnew StreamsApp('not a topology', { applicationId: 1 });\n",
    );
    // (--skipLibCheck: the declarations were checked just above.)
    const bad = sh(
      process.execPath,
      [tsc, ...args, '--skipLibCheck', 'misuse.ts'],
      project,
      userEnv,
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/misuse\.ts\(2,\d+\): error TS/);
  }, 600_000); // tsc checks every declaration the public types reach: 60 s on a quiet machine, 200 s at load 20

  describe('an exactly-once counting app on the local Kafka', () => {
    const app = `${run}-count`;
    const input = `${app}-in`;
    const output = `${app}-out`;
    const KEYS = 20;
    let sent = 0;
    const worker = (name: string, env: Record<string, string> = {}): Child =>
      startProcess(name, process.execPath, ['count-worker.mjs'], {
        cwd: project,
        env: {
          ...userEnv,
          APP: app,
          INPUT: input,
          OUTPUT: output,
          BROKERS: inject('kafkaBrokers').join(','),
          STATE_DIR: path.join(tmp, `state-${name}`),
          ...env,
        },
      });
    const feed = (n: number) =>
      produce(
        kafka,
        input,
        Array.from({ length: n }, () => ({ key: `k${(sent++ * 7) % KEYS}`, value: `v${sent}` })),
      );
    const tasksOf = (c: Child) =>
      (c.lines.filter((l) => l.event === 'tasks').at(-1)?.tasks as string[] | undefined) ?? [];
    async function until(cond: () => boolean, what: string, children: Child[], timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!cond()) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}\n` +
              children
                .map(
                  (c) =>
                    `${c.name}: ${JSON.stringify(c.lines.slice(-3))}\n${c.stderr.join('').slice(-3000)}`,
                )
                .join('\n'),
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    it('counts every record exactly once while a stopped instance is fenced when it wakes', async () => {
      await createTopics(kafka, [
        { topic: input, partitions: 4 },
        { topic: output, partitions: 4 },
      ]);
      // a commits rarely, so it holds uncommitted work when it is stopped.
      const a = worker('a', { COMMIT_INTERVAL: '5s' });
      const b = worker('b');
      const client = await a.waitFor((l) => l.event === 'client');
      expect(client.dir).toBe(
        path.join(project, 'node_modules', 'millrace', 'node_modules', 'kafkajs'),
      );
      await until(
        () =>
          tasksOf(a).length > 0 &&
          tasksOf(b).length > 0 &&
          tasksOf(a).length + tasksOf(b).length === 4,
        'two instances sharing the 4 tasks',
        [a, b],
      );
      await feed(1000);
      await new Promise((r) => setTimeout(r, 1500));
      a.signal('SIGSTOP');
      await feed(1000);
      await until(() => tasksOf(b).length === 4, 'b taking over every task while a is stopped', [
        a,
        b,
      ]);
      await feed(1000);
      a.signal('SIGCONT');
      await feed(1000);
      // The zombie either tried to commit its held work and was fenced, or learned on
      // rejoining that it had been expelled; either way it drops that work.
      await until(
        () => /task fenced|expelled from the group/.test(a.stderr.join('')),
        'a reporting that it was fenced',
        [a, b],
      );
      console.log(
        `[install-as-user] the zombie: ${a.stderr
          .join('')
          .split('\n')
          .filter((l) => /task fenced|expelled from the group/.test(l))
          .map((l) => l.slice(0, 300))
          .join(' | ')}`,
      );

      const counted = new Map<string, number>();
      const inputs = await readUntil(kafka, input, (got) => got.length >= sent, 60_000);
      for (const r of inputs) counted.set(r.key!, (counted.get(r.key!) ?? 0) + 1);
      const total = (got: { key: string | null; value: string | null }[]) => {
        const max = new Map<string, number>();
        for (const r of got) max.set(r.key!, Math.max(max.get(r.key!) ?? 0, Number(r.value)));
        return [...counted].every(([k, n]) => (max.get(k) ?? 0) >= n);
      };
      const out = await readUntil(kafka, output, total, 120_000);
      // read_committed: for every key exactly 1, 2, …, n — nothing the zombie held was
      // committed, nothing counted twice, nothing missing.
      const byKey = valuesByKey(out);
      expect([...byKey.keys()].sort()).toEqual([...counted.keys()].sort());
      for (const [k, n] of counted)
        expect(byKey.get(k)!.map(Number), k).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    });

    it('refuses to start on a kafkajs without millrace’s patch, naming the fix', async () => {
      const marker = path.join(
        project,
        'node_modules',
        'millrace',
        'node_modules',
        'kafkajs',
        'millrace-patch.json',
      );
      fs.renameSync(marker, `${marker}.away`);
      try {
        const c = worker('unpatched');
        expect(await c.exited).toBe(2);
        await until(() => c.lines.some((l) => l.event === 'failed'), 'its last line', [c], 5000);
        const failed = c.lines.find((l) => l.event === 'failed')!;
        expect(failed.code).toBe('KAFKA_CLIENT_UNPATCHED');
        expect(failed.error).toMatch(
          /is not the copy millrace ships .* exactly_once needs: reinstall millrace/,
        );
      } finally {
        fs.renameSync(`${marker}.away`, marker);
      }
    });
  });
});
