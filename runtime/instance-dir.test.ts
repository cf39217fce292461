import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { claimInstanceDir } from './instance-dir.js';

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
});
