/**
 * Which partition a key's records went to: the producer's default partitioner, murmur2 of
 * the serialized key, made positive, modulo the partition count — what Kafka's Java client
 * and kafkajs's default partitioner do for a record with a key and no explicit partition.
 * Interactive queries route a key to the task that holds it with this.
 */

const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995 | 0;

/** murmur2 (32-bit, seed 0x9747b28c) of `data`, as a signed 32-bit integer (Kafka's `Utils.murmur2`). */
export function murmur2(data: Uint8Array): number {
  const n = data.length;
  let h = SEED ^ n;
  const whole = n - (n % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = n % 4;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `numPartitions` a record with key bytes `key` goes to. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1)
    throw new RangeError(`numPartitions must be a positive integer (got ${numPartitions})`);
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
