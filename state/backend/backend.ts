/**
 * The bytes-only bottom of the store stack. Point reads are synchronous; writes come in
 * batches (one per flush or restore); scans are ordered by the bytes of the key.
 */
export interface WriteOp {
  key: Buffer;
  /** `null` deletes the key. */
  value: Buffer | null;
}

export interface ScanRange {
  gte?: Buffer;
  lte?: Buffer;
  lt?: Buffer;
}

export interface BytesBackend {
  getSync(key: Buffer): Buffer | undefined;
  write(ops: readonly WriteOp[]): Promise<void>;
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
  /** Deletes every key in [gte, lt). */
  clearRange(gte: Buffer, lt: Buffer): Promise<void>;
  approximateCount(): Promise<number>;
  close(): Promise<void>;
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

export function inRange(key: Buffer, r: ScanRange): boolean {
  if (r.gte && Buffer.compare(key, r.gte) < 0) return false;
  if (r.lte && Buffer.compare(key, r.lte) > 0) return false;
  if (r.lt && Buffer.compare(key, r.lt) >= 0) return false;
  return true;
}
