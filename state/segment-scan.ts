/**
 * The scan under `fetchAll` of the segmented stores (window and session): every live
 * segment whose times meet [lo, hi], read one at a time, overlaid with the writes not
 * flushed yet, rows in (time, key bytes) order. "Time" is what the segments are keyed by:
 * a window's start, a session's end.
 */
import { byteString } from './backend/backend.js';
import type { CachedEntry, WriteLayer } from './layer.js';
import { windowStartOf, type SegmentedTarget } from './segments.js';

export interface SegmentRow {
  /** The window (or session) key: see segments.ts and session-store.ts. */
  key: Buffer;
  value: Buffer;
}

/** Orders two keys of equal time (e.g. by the user's key bytes). */
export type KeyOrder = (a: Buffer, b: Buffer) => number;

/** The rows of each segment in turn (one array per segment, by time, then by `order`). */
export async function* scanSegments(
  layer: WriteLayer,
  segments: SegmentedTarget,
  range: { lo: number; hi: number },
  order: KeyOrder,
): AsyncIterable<SegmentRow[]> {
  const { lo, hi } = range;
  const dirty = unflushedBySegment(layer, segments, lo, hi);
  const ids = new Set([...segments.segmentsBetween(lo, hi), ...dirty.keys()]);
  for (const s of [...ids].sort((a, b) => a - b)) {
    const rows = await readSegment(segments, s, range, dirty.get(s) ?? []);
    yield rows.sort((a, b) => a.time - b.time || order(a.key, b.key));
  }
}

/** Writes not yet sent down with times in [lo, hi], by segment (copied: scans see a snapshot). */
function unflushedBySegment(
  layer: WriteLayer,
  segments: SegmentedTarget,
  lo: number,
  hi: number,
): Map<number, CachedEntry[]> {
  const out = new Map<number, CachedEntry[]>();
  for (const e of layer.unflushed()) {
    const t = windowStartOf(e.key);
    if (t < lo || t > hi) continue;
    const s = segments.segmentOf(t);
    (out.get(s) ?? out.set(s, []).get(s)!).push({ key: e.key, value: e.value });
  }
  return out;
}

/** One segment's rows with times in [lo, hi], overlaid with `dirty` (deletes drop rows). */
async function readSegment(
  segments: SegmentedTarget,
  segment: number,
  { lo, hi }: { lo: number; hi: number },
  dirty: CachedEntry[],
): Promise<Array<SegmentRow & { time: number }>> {
  const merged = new Map<string, CachedEntry>();
  for await (const [key, value] of segments.scanSegment(segment, {})) {
    const t = windowStartOf(key);
    if (t >= lo && t <= hi) merged.set(byteString(key), { key, value });
  }
  for (const e of dirty) merged.set(byteString(e.key), e);
  const rows: Array<SegmentRow & { time: number }> = [];
  for (const { key, value } of merged.values())
    if (value !== null) rows.push({ key, value, time: windowStartOf(key) });
  return rows;
}
