/**
 * What the store tests share: a temporary state directory per test file, the store they
 * open most (string keys, int64 values), and reading an async iterator to an array.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { int64Serde, stringSerde, type StoreOptions } from '../../state/index.js';

/** Call at the top of a test file: a new temporary directory, removed after the file. */
export function useTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Everything `it` yields, in order. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Key-value store `kv`: string keys, int64 values, logged and cached, unless `over` says otherwise. */
export function kvOptions(
  over: Partial<StoreOptions<string, number>> = {},
): StoreOptions<string, number> {
  return {
    name: 'kv',
    kind: 'keyValue',
    keySerde: stringSerde,
    valueSerde: int64Serde,
    logged: true,
    cache: true,
    ...over,
  };
}
