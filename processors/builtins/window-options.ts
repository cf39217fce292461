/** Options every windowed aggregation takes: how it emits, and whether it closes on idle. */
import { z } from 'zod';

export const emitOption = z
  .enum(['final', 'every-update'])
  .optional()
  .describe(
    'final (default): one result per window, when it closes; every-update: the new aggregate of each window a record changes',
  );

export const idleCloseOption = z
  .number()
  .int()
  .positive()
  .optional()
  .describe(
    'close windows when no input came for this long on the wall clock (ms); off when absent',
  );

export type EmitMode = 'final' | 'every-update';

/** A windowed result: the window `[window_start, window_end)` (epoch ms) and its aggregate. */
export interface WindowedValue<A = unknown> {
  window_start: number;
  window_end: number;
  /** The aggregate; `null` when an every-update session aggregate says a session merged away. */
  value: A | null;
}
