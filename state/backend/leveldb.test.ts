/**
 * The LevelDB backend's memory settings reach LevelDB: a small write buffer is written
 * out to table files as it fills; a large one keeps the same writes in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelBackend } from './leveldb.js';
import { useTempDir } from '../../test/support/stores.js';

const root = useTempDir('millrace-leveldb-');

/** Writes about 600 KiB (1,200 values of 512 random bytes) in batches of 100; returns the table files. */
async function tablesAfterWrites(writeBufferBytes: number): Promise<string[]> {
  const location = path.join(root, `wb-${writeBufferBytes}`);
  const db = await LevelBackend.open(location, { blockCacheBytes: 1 << 20, writeBufferBytes });
  for (let b = 0; b < 12; b++) {
    const ops = Array.from({ length: 100 }, (_, i) => ({
      key: Buffer.from(`k${String(b * 100 + i).padStart(6, '0')}`),
      value: Buffer.from(Array.from({ length: 512 }, () => Math.floor(Math.random() * 256))),
    }));
    await db.write(ops);
  }
  const tables = fs.readdirSync(location).filter((f) => f.endsWith('.ldb'));
  expect(db.getSync(Buffer.from('k000000'))?.length).toBe(512);
  await db.close();
  return tables;
}

describe('LevelDB memory settings', () => {
  it('a 64 KiB write buffer goes to table files as it fills; a 4 MiB one holds the same writes', async () => {
    expect((await tablesAfterWrites(64 << 10)).length).toBeGreaterThan(0);
    expect(await tablesAfterWrites(4 << 20)).toEqual([]);
  });
});
