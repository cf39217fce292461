import { describe, expect, it } from 'vitest';
import { fetchBytesOf } from './settings.js';

describe('millrace sink fetch sizes', () => {
  it('takes whole bytes from 1 KiB to 1 GiB and names the flag, its variable and the fix otherwise', () => {
    expect(fetchBytesOf(undefined, 'fetch-max-bytes', 'MILLRACE_FETCH_MAX_BYTES')).toBeUndefined();
    expect(fetchBytesOf('2097152', 'fetch-max-bytes', 'MILLRACE_FETCH_MAX_BYTES')).toBe(2 << 20);
    for (const bad of ['1MiB', '100', '1536.5', String(2 ** 31)])
      expect(() => fetchBytesOf(bad, 'fetch-max-bytes', 'MILLRACE_FETCH_MAX_BYTES')).toThrow(
        `--fetch-max-bytes ${bad}: write a whole number of bytes from 1024 to 1073741824, e.g. 1048576 for 1 MiB (MILLRACE_FETCH_MAX_BYTES likewise)`,
      );
  });
});
