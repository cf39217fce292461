import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  readCheckpoint,
  removeCheckpoint,
  taskDir,
  wipeTaskState,
  writeCheckpoint,
} from './index.js';
import { useTempDir } from '../test/support/stores.js';

const root = useTempDir('millrace-checkpoint-');

describe('checkpoints', () => {
  const dir = taskDir(root, 'app', '0_1');
  const file = path.join(dir, '.checkpoint');

  it('round-trip: absent is undefined; written offsets read back; removal', async () => {
    expect(dir).toBe(path.join(root, 'app', '0_1'));
    expect(await readCheckpoint(dir)).toBeUndefined();
    await writeCheckpoint(
      dir,
      new Map([
        ['counts', 17],
        ['windows', 0],
      ]),
    );
    expect(await readCheckpoint(dir)).toEqual(
      new Map([
        ['counts', 17],
        ['windows', 0],
      ]),
    );
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      format: CHECKPOINT_FORMAT,
      offsets: { counts: 17, windows: 0 },
    });
    await removeCheckpoint(dir);
    expect(await readCheckpoint(dir)).toBeUndefined();
    await removeCheckpoint(dir); // absent is fine
  });

  it('writes atomically: a new file replaces the old whole, and no temporary file stays', async () => {
    await writeCheckpoint(dir, new Map([['counts', 1]]));
    const inode = fs.statSync(file).ino;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => writeCheckpoint(dir, new Map([['counts', i]]))),
    );
    expect(fs.statSync(file).ino).not.toBe(inode); // renamed over, not rewritten in place
    expect((await readCheckpoint(dir))!.get('counts')).toBeGreaterThanOrEqual(0);
    expect(fs.readdirSync(dir)).toEqual(['.checkpoint']);
  });

  it('refuses a checkpoint of a newer format, naming the directory to delete', async () => {
    fs.writeFileSync(file, JSON.stringify({ format: CHECKPOINT_FORMAT + 1, offsets: {} }));
    await expect(readCheckpoint(dir)).rejects.toMatchObject({
      code: 'CHECKPOINT_TOO_NEW',
      domain: 'user',
      message: expect.stringContaining(`newer millrace`),
    });
    await expect(readCheckpoint(dir)).rejects.toThrow(`delete ${dir}`);
  });

  it('refuses a damaged checkpoint, saying to delete it', async () => {
    fs.writeFileSync(file, '{"format":1,"offsets":{"a":');
    await expect(readCheckpoint(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    fs.writeFileSync(file, JSON.stringify({ format: 1, offsets: { a: -3 } }));
    await expect(readCheckpoint(dir)).rejects.toThrow(/invalid.*delete it/);
  });

  it('wipes a task’s whole state directory', async () => {
    fs.mkdirSync(path.join(dir, 'store'), { recursive: true });
    await wipeTaskState(dir);
    expect(fs.existsSync(dir)).toBe(false);
    expect(await readCheckpoint(dir)).toBeUndefined();
  });
});
