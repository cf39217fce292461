import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partitioner.js';

const require = createRequire(import.meta.url);
/** kafkajs's default partitioner: what the runtime's producers partition keyed records with. */
const { Partitioners } = require('kafkajs') as {
  Partitioners: {
    DefaultPartitioner: () => (a: {
      topic: string;
      partitionMetadata: Array<{ partitionId: number; leader: number }>;
      message: { key: Buffer; partition?: number };
    }) => number;
  };
};

describe('key → partition', () => {
  it("hashes as Kafka's Utils.murmur2 (its own test vectors)", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it("gives the partition kafkajs's default partitioner gives, for keys of every length and count", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    for (let i = 0; i < 5000; i++) {
      const key = Buffer.alloc(i % 41);
      for (let j = 0; j < key.length; j++) key[j] = rnd(256);
      const n = 1 + rnd(64);
      const partitionMetadata = Array.from({ length: n }, (_, p) => ({
        partitionId: p,
        leader: 0,
      }));
      expect(partitionForKey(key, n)).toBe(
        partitioner({ topic: 't', partitionMetadata, message: { key } }),
      );
    }
  });

  it('known partitions of string keys (Java: Utils.toPositive(Utils.murmur2(key)) % n)', () => {
    // murmur2("abc") = 479470107 (positive): 479470107 % 6 = 3; "21" = -973932308 → & 0x7fffffff = 1173551340, % 6 = 0
    expect(partitionForKey(Buffer.from('abc'), 6)).toBe(479470107 % 6);
    expect(partitionForKey(Buffer.from('21'), 6)).toBe((-973932308 & 0x7fffffff) % 6);
    expect(() => partitionForKey(Buffer.from('x'), 0)).toThrow(/positive integer/);
  });
});
