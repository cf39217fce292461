import { expect, it } from 'vitest';
import { withRestoreProgress } from './progress.js';

function fakeTty() {
  const written: string[] = [];
  return {
    stream: {
      isTTY: true,
      write: (s: string) => (written.push(s), true),
    } as unknown as NodeJS.WriteStream,
    written,
  };
}

it('draws restore progress on a terminal and ends the line when the rebalance ends', () => {
  const { stream, written } = fakeTty();
  const seen: string[] = [];
  const o = withRestoreProgress({ onRestore: (t) => seen.push(t) }, stream);
  o.onRestore!('0_0', 'counts', 500, 1500);
  o.onRestore!('0_1', 'counts', 250, 0);
  o.onRebalance!('end', ['0_0', '0_1']);
  expect(seen).toEqual(['0_0', '0_1']); // the inner observer still hears everything
  expect(written[0]).toMatch(/restoring 1 store\(s\): 500 records, 1,500 to go/);
  expect(written.at(-2)).toMatch(/restoring 2 store\(s\): 750 records, 1,500 to go/);
  expect(written.at(-1)).toBe('\n');
});

it('is the inner observer itself when stderr is not a terminal', () => {
  const inner = {};
  expect(withRestoreProgress(inner, { isTTY: false } as NodeJS.WriteStream)).toBe(inner);
});
