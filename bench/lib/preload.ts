/**
 * The benchmarks' input: `n` records with 100-byte values produced into `topic` as fast as
 * the broker takes them (acks=1, 8 requests in flight), keys `k0`…`k<keys-1>` round robin,
 * or all distinct with `unique`. Shared by `bench:engine` and `bench:kstreams`, so that
 * millrace and Kafka Streams read the same shape of input.
 */
import type { Kafka } from 'kafkajs';

export async function preload(
  kafka: Kafka,
  topic: string,
  n: number,
  keys: number,
  log: (line: string) => void,
  unique = false,
): Promise<void> {
  const producer = kafka.producer({ idempotent: false, maxInFlightRequests: 5 });
  await producer.connect();
  const value = Buffer.alloc(100, 'x');
  const t0 = Date.now();
  const batch = 10_000;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += batch) {
    const messages = Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({
      key: `k${unique ? i + j : (i + j) % keys}`,
      value,
    }));
    inflight.push(producer.send({ topic, acks: 1, messages }));
    if (inflight.length >= 8) await inflight.shift();
    if (i % 500_000 === 0) log(`preloading ${topic}: ${i}/${n}`);
  }
  await Promise.all(inflight);
  await producer.disconnect();
  log(`preloaded ${n} records into ${topic} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}
