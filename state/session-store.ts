/**
 * The typed session store (top of its stack): sessions of a key, `[start, end]`, kept for
 * a retention measured back from the newest session end seen.
 *
 * Session key (what the cache and the changelog see):
 *   [key length u32][key bytes][start i64][end i64]   (both sign-flipped big-endian)
 * The end comes last, so the segments (see segments.ts) are keyed by session end: a
 * session expires with its end, and a scan by end time reads only the segments it needs.
 * As in the window store, an empty value marks a session closed.
 */
import type { Serde, SessionEntry, SessionStore, SessionWindow } from './api.js';
import { MeteredStore, type StoreStack } from './metered.js';
import { scanSegments } from './segment-scan.js';
import { readI64Ordered, writeI64Ordered, type SegmentedTarget } from './segments.js';
import { CLOSED, valueBytes } from './window-store.js';

const MIN = Number.MIN_SAFE_INTEGER;
const MAX = Number.MAX_SAFE_INTEGER;

/** The session key of `key`'s session `[start, end]`. */
export function encodeSessionKey(key: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(4 + key.length + 16);
  out.writeUInt32BE(key.length, 0);
  key.copy(out, 4);
  writeI64Ordered(out, start, 4 + key.length);
  writeI64Ordered(out, end, 12 + key.length);
  return out;
}

export function decodeSessionKey(sessionKey: Buffer): { key: Buffer } & SessionWindow {
  const n = sessionKey.length;
  return {
    key: sessionKey.subarray(4, n - 16),
    start: readI64Ordered(sessionKey, n - 16),
    end: readI64Ordered(sessionKey, n - 8),
  };
}

/** Session keys of equal end, by the user's key bytes, then by start. */
const byUserKey = (a: Buffer, b: Buffer): number => {
  const x = decodeSessionKey(a);
  const y = decodeSessionKey(b);
  return Buffer.compare(x.key, y.key) || x.start - y.start;
};

export class MeteredSessionStore<K, V> extends MeteredStore implements SessionStore<K, V> {
  readonly kind = 'session' as const;

  constructor(
    name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly segments: SegmentedTarget,
    stack: StoreStack,
  ) {
    super(name, stack);
  }

  fetchSession(key: K, session: SessionWindow): V | undefined {
    if (session.end < this.segments.expiredBefore) return undefined;
    const t0 = this.timing ? performance.now() : 0;
    const v = this.layer.get(
      encodeSessionKey(this.keySerde.serialize(key), session.start, session.end),
    );
    if (this.timing) this.timed('get', t0);
    return v === undefined || v.length === 0 ? undefined : this.valueSerde.deserialize(v);
  }

  put(key: K, session: SessionWindow, value: V | undefined): void {
    this.write(
      key,
      session,
      value === undefined ? null : valueBytes(this.name, this.valueSerde, value),
    );
  }

  markClosed(key: K, session: SessionWindow): void {
    this.write(key, session, CLOSED);
  }

  private write(key: K, { start, end }: SessionWindow, bytes: Buffer | null): void {
    if (end < this.segments.expiredBefore) return; // expired: it could never be read
    const t0 = this.timing ? performance.now() : 0;
    const k = encodeSessionKey(this.keySerde.serialize(key), start, end);
    this.layer.put(k, bytes, this.stack.timestamp());
    if (this.timing) this.timed(bytes === null ? 'delete' : 'put', t0);
  }

  async *findSessions(
    key: K,
    earliestEnd: number,
    latestStart: number,
  ): AsyncIterable<SessionEntry<K, V>> {
    const k = this.keySerde.serialize(key);
    const range = { gte: encodeSessionKey(k, MIN, MIN), lte: encodeSessionKey(k, MAX, MAX) };
    const t0 = this.timing ? performance.now() : 0;
    const found: Array<SessionEntry<K, V>> = [];
    for await (const [sk, v] of this.layer.scan(range)) {
      const d = decodeSessionKey(sk);
      if (!v.length || d.end < earliestEnd || d.start > latestStart) continue;
      if (d.end < this.segments.expiredBefore) continue;
      found.push({ key, start: d.start, end: d.end, value: this.valueSerde.deserialize(v) });
    }
    if (this.timing) this.timed('range', t0);
    yield* found.sort((a, b) => a.end - b.end);
  }

  async *fetchAll(endFrom: number, endTo: number): AsyncIterable<SessionEntry<K, V>> {
    for await (const s of this.fetchAllWithClosed(endFrom, endTo))
      if (s.value !== undefined) yield s as SessionEntry<K, V>;
  }

  async *fetchAllWithClosed(
    endFrom: number,
    endTo: number,
  ): AsyncIterable<SessionEntry<K, V | undefined>> {
    const lo = Math.max(endFrom, this.segments.expiredBefore);
    if (lo > endTo) return;
    const t0 = this.timing ? performance.now() : 0;
    for await (const rows of scanSegments(this.layer, this.segments, { lo, hi: endTo }, byUserKey))
      for (const { key, value } of rows) {
        const d = decodeSessionKey(key);
        yield {
          key: this.keySerde.deserialize(d.key),
          start: d.start,
          end: d.end,
          value: value.length ? this.valueSerde.deserialize(value) : undefined,
        };
      }
    if (this.timing) this.timed('range', t0);
  }
}
