import { describe, expect, it } from 'vitest';
import { backfillStartOf } from './demo.js';

describe('the demo backfill', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 30);

  it('covers the last three minutes, from a minute boundary, when no run committed a clock', () => {
    expect(backfillStartOf(now, undefined)).toBe(Date.UTC(2026, 10, 25, 11, 57, 0));
  });

  it('starts just after the clock an earlier run committed, so none of it is late', () => {
    const committed = Date.UTC(2026, 10, 25, 11, 59, 10);
    expect(backfillStartOf(now, committed)).toBe(committed + 1000);
  });

  it('keeps three minutes when the committed clock is older than that', () => {
    expect(backfillStartOf(now, Date.UTC(2026, 10, 25, 9, 0, 0))).toBe(
      Date.UTC(2026, 10, 25, 11, 57, 0),
    );
  });

  it('gives no backfill (a start at or after now) when the clock is at now or ahead', () => {
    expect(backfillStartOf(now, now + 5000)).toBeGreaterThanOrEqual(now);
  });
});
