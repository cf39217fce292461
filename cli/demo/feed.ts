/**
 * What the demo ingests. Finnhub when a token is set; otherwise ONE synthetic feed that
 * starts a few minutes back and runs at full speed until its event time reaches the wall
 * clock, then live (`millrace ingest --start T --catch-up`). Backfill and live are one
 * price walk, so the minute where one becomes the other moves as any other minute does.
 */

/** How much synthetic history the demo backfills. */
export const BACKFILL_MS = 180_000;
/** The seed of the demo's synthetic market. */
export const DEMO_SEED = 1;

export interface FeedPlan {
  /** Finnhub's WebSocket (a token is set) rather than the synthetic market. */
  live: boolean;
  symbols: number;
  /** Synthetic trades per second of event time. */
  rate: number;
  /** Where the synthetic feed's event time starts, epoch ms. */
  startMs: number;
}

/**
 * Where the synthetic backfill starts: three minutes back, at a minute boundary, or just
 * after `committed` (the stream time the app last committed) when that is later, so that
 * no backfilled trade is behind the app's clock. At or after `now`: no backfill (the feed
 * waits for the wall clock to reach its start).
 */
export function backfillStartOf(now: number, committed: number | undefined): number {
  const threeMinutesBack = Math.floor((now - BACKFILL_MS) / 60_000) * 60_000;
  return committed === undefined ? threeMinutesBack : Math.max(threeMinutesBack, committed + 1000);
}

/** The `millrace ingest` arguments for `plan`. */
export function ingestArgs(plan: FeedPlan): string[] {
  if (plan.live) return ['ingest', '--source', 'finnhub', '--quiet'];
  return [
    'ingest',
    '--source',
    'synthetic',
    '--symbols',
    String(plan.symbols),
    '--rate',
    String(plan.rate),
    '--seed',
    String(DEMO_SEED),
    '--start',
    String(plan.startMs),
    '--catch-up',
    '--quiet',
  ];
}
