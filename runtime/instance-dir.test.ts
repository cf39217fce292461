import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { claimInstanceDir, lockTaskDir } from './instance-dir.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-claim-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('claimInstanceDir', () => {
  it('keeps the process id of a slot across restarts', () => {
    const root = tmp();
    const a = claimInstanceDir(root, 'app');
    a.release();
    const again = claimInstanceDir(root, 'app');
    expect(again.processId).toBe(a.processId);
    expect(again.processId).toMatch(/^[0-9a-f]{8}$/);
    again.release();
  });

  it('gives instances sharing a directory different process ids, and frees a slot on release', () => {
    const root = tmp();
    const a = claimInstanceDir(root, 'app');
    const b = claimInstanceDir(root, 'app');
    expect(b.processId).not.toBe(a.processId);
    a.release();
    const c = claimInstanceDir(root, 'app'); // takes a's slot back
    expect(c.processId).toBe(a.processId);
    b.release();
    c.release();
  });

  it('takes over the slot of a process that is gone (a crash leaves its lock file)', () => {
    const root = tmp();
    const first = claimInstanceDir(root, 'app');
    first.release();
    // A lock left by a process that has exited: its pid is no longer alive.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(path.join(root, 'app', '.instance-0.lock'), gone.stdout.toString());
    const next = claimInstanceDir(root, 'app');
    expect(next.processId).toBe(first.processId);
    next.release();
  });

  it('does not take the slot of a live process', () => {
    const root = tmp();
    const first = claimInstanceDir(root, 'app');
    first.release();
    // The parent of this test process is alive and is not us.
    fs.writeFileSync(path.join(root, 'app', '.instance-0.lock'), String(process.ppid));
    const next = claimInstanceDir(root, 'app');
    expect(next.processId).not.toBe(first.processId);
    next.release();
  });

  it('gives each worker thread of a process a slot of its own (stream threads)', async () => {
    const root = tmp();
    const url = new URL('./instance-dir.ts', import.meta.url).href;
    // Two workers (each with its own copy of this module) claim at once, then report.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.tsx).then((t) => t.register()).then(() => import(workerData.url)).then((m) => {
        const c = m.claimInstanceDir(workerData.root, 'app');
        parentPort.postMessage(c.processId);
        parentPort.once('message', () => { c.release(); parentPort.close(); });
      });`;
    const { Worker } = await import('node:worker_threads');
    const workers = [0, 1].map(
      () =>
        new Worker(code, {
          eval: true,
          workerData: { url, root, tsx: import.meta.resolve('tsx/esm/api') },
        }),
    );
    const ids = await Promise.all(
      workers.map((w) => new Promise<string>((resolve) => w.once('message', resolve))),
    );
    expect(new Set(ids).size).toBe(2);
    const main = claimInstanceDir(root, 'app');
    expect(ids).not.toContain(main.processId);
    main.release();
    for (const w of workers) w.postMessage('release');
    await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
    // Released: the next claims take the freed slots again.
    const again = claimInstanceDir(root, 'app');
    expect(ids.concat(main.processId)).toContain(again.processId);
    again.release();
  });
});

describe('lockTaskDir', () => {
  it('is held by one owner at a time, outlives a wipe of the task directory, and is taken over from a process that is gone', () => {
    const root = tmp();
    const lockFile = path.join(root, 'app', '.task-0_3.lock');
    const held = lockTaskDir(root, 'app', '0_3')!;
    expect(held).toBeDefined();
    expect(lockTaskDir(root, 'app', '0_3')).toBeUndefined(); // this thread holds it already
    fs.rmSync(path.join(root, 'app', '0_3'), { recursive: true, force: true }); // a wipe
    expect(fs.existsSync(lockFile)).toBe(true);
    held.release();
    held.release(); // twice is fine
    expect(fs.existsSync(lockFile)).toBe(false);

    // Another live process holds it (the parent of this test process is alive and is not us).
    fs.writeFileSync(lockFile, String(process.ppid));
    expect(lockTaskDir(root, 'app', '0_3')).toBeUndefined();
    // A process that has exited left it behind.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(lockFile, gone.stdout.toString());
    const taken = lockTaskDir(root, 'app', '0_3');
    expect(taken).toBeDefined();
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
    taken!.release();
  });
});
