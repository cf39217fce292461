/**
 * The bytes-only bottom of the store stack (LevelDB or memory). Keys are ordered by their
 * bytes. Point reads are synchronous; writes are asynchronous but visible at once.
 */
export interface WriteOp {
  key: Buffer;
  /** `null` deletes the key. */
  value: Buffer | null;
  /** `byteString(key)` when the caller has it already (saves the backend spelling it again). */
  spelling?: string;
}

/** Key bounds of a scan; any may be absent. */
export interface ScanRange {
  gte?: Buffer;
  lte?: Buffer;
  lt?: Buffer;
}

export interface BytesBackend {
  /** Synchronous point read; sees every write already issued, landed or not. */
  getSync(key: Buffer): Buffer | undefined;
  /**
   * Queues a batch of writes. They apply in the order issued (after every earlier write
   * and range delete) and are visible to `getSync` and later scans at once; the promise
   * resolves when they have reached the backend.
   */
  write(ops: readonly WriteOp[]): Promise<void>;
  /**
   * `write` for bulk restore: ordered the same, but readable only once the promise
   * resolves (no read-before-landing bookkeeping), for callers that await it before reading.
   */
  load(ops: readonly WriteOp[]): Promise<void>;
  /**
   * Entries in range in byte order of keys. Sees every write issued before it starts;
   * writes issued while it runs may or may not appear (LevelDB: a snapshot; memory: live).
   */
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
  /**
   * Deletes every key in [gte, lt), ordered with writes like `write`, but unlike them it
   * takes effect for `getSync` only when it lands (callers hide the range until then).
   */
  clearRange(gte: Buffer, lt: Buffer): Promise<void>;
  /** Resolves when every write issued so far has landed (rejects if one failed). */
  settled(): Promise<void>;
  /** An estimate of the number of keys; may lag behind recent writes. */
  approximateCount(): number;
  close(): Promise<void>;
  /** Closes the backend and deletes everything it holds (files included). */
  destroy(): Promise<void>;
}

/** Spells bytes as a string whose JavaScript order is the bytes' order (one char per byte). */
export const byteString = (b: Buffer): string => b.toString('latin1');
export const fromByteString = (s: string): Buffer => Buffer.from(s, 'latin1');

/**
 * The bounds of `r` on byte strings (see `byteString`): where a scan starts, and whether a
 * key is still below the end.
 */
export function byteStringBounds(r: ScanRange): {
  from?: string;
  below: (k: string) => boolean;
} {
  const lte = r.lte && byteString(r.lte);
  const lt = r.lt && byteString(r.lt);
  const below =
    lte !== undefined && lt !== undefined
      ? (k: string) => k <= lte && k < lt
      : lte !== undefined
        ? (k: string) => k <= lte
        : lt !== undefined
          ? (k: string) => k < lt
          : () => true;
  return { from: r.gte && byteString(r.gte), below };
}
