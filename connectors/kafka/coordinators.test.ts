import { describe, expect, it } from 'vitest';
import { coordinatorPartition, idsCoveringPartitions } from './coordinators.js';

describe('coordinator partitions', () => {
  it("match Kafka's abs(String.hashCode) % partitions", () => {
    // "hello".hashCode() == 99162322 in Java.
    expect(coordinatorPartition('hello', 1_000_000_007)).toBe(99162322);
    expect(coordinatorPartition('hello', 10)).toBe(2);
    // A negative hash (checked against a BigInt reference)...
    expect(coordinatorPartition('zzzzzzzzzz', 50)).toBe(Math.abs(javaHash('zzzzzzzzzz')) % 50);
    // ...and Integer.MIN_VALUE, whose Math.abs is negative, maps to 0 as Kafka's Utils.abs does.
    expect(javaHash('polygenelubricants')).toBe(-2147483648);
    expect(coordinatorPartition('polygenelubricants', 10)).toBe(0);
  });

  it('finds one id per partition', () => {
    for (const n of [1, 10, 50]) {
      const ids = idsCoveringPartitions('x', n);
      expect(ids).toHaveLength(n);
      expect(ids.map((id) => coordinatorPartition(id, n))).toEqual([...Array(n).keys()]);
    }
  });
});

/** Java's String.hashCode, written out the slow way (BigInt) as the reference. */
function javaHash(s: string): number {
  let h = 0n;
  for (const c of s) h = (h * 31n + BigInt(c.charCodeAt(0))) % 2n ** 32n;
  return Number(BigInt.asIntN(32, h));
}
