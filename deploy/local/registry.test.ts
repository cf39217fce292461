import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { registryDataDir, setAsideHalfCreatedDatabase } from './registry.js';

const H2_ERROR =
  'Caused by: org.h2.jdbc.JdbcSQLSyntaxErrorException: Table "COMMENTS" not found; SQL statement:';

describe('a registry database left half-created', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function runDirWith(log: string) {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-registry-'));
    dirs.push(runDir);
    const cfg = { ...loadConfig(), runDir };
    fs.mkdirSync(registryDataDir(cfg), { recursive: true });
    fs.writeFileSync(path.join(registryDataDir(cfg), 'registry.mv.db'), 'h2');
    fs.writeFileSync(path.join(runDir, 'registry', 'registry.log'), log);
    return cfg;
  }

  it('is moved aside when the last start failed on a missing table', () => {
    const cfg = runDirWith(`WARN something\n${H2_ERROR}\n`);
    const moved = setAsideHalfCreatedDatabase(cfg);
    expect(moved).toMatch(/data\.broken-/);
    expect(fs.existsSync(registryDataDir(cfg))).toBe(false);
    expect(fs.readFileSync(path.join(moved!, 'registry.mv.db'), 'utf8')).toBe('h2');
  });

  it('is kept when the start failed for another reason', () => {
    const cfg = runDirWith('ERROR Port 8081 seems to be in use by another process\n');
    expect(setAsideHalfCreatedDatabase(cfg)).toBeUndefined();
    expect(fs.existsSync(path.join(registryDataDir(cfg), 'registry.mv.db'))).toBe(true);
  });
});
