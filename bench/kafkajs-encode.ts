/**
 * `npx tsx bench/kafkajs-encode.ts`: CPU cost of kafkajs's produce-side encoding, alone (no
 * broker, no network). Encodes one Produce v3 request of BENCH_RECORDS records (16-byte Buffer
 * keys, 100-byte Buffer values, string epoch-ms timestamps as millrace's producers send them,
 * one header on every tenth record) into one partition, over and over, and prints records/s
 * per round: per second of wall clock, and per second of this process's CPU time (user +
 * system, all threads: steadier than the wall clock on a machine shared with other work). Measures whatever kafkajs is installed in node_modules (patched or not).
 *
 * BENCH_RECORDS (default 5000), BENCH_ROUNDS (default 5), BENCH_ROUND_MS (default 2000);
 * BENCH_FRAME=1 also frames each request as the connection does (kafkajs's protocol/request.js:
 * size, api key and version, correlation id, client id).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request');
const frame = require('kafkajs/src/protocol/request');

const RECORDS = Number(process.env.BENCH_RECORDS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const FRAME = process.env.BENCH_FRAME === '1';

const base = 1_700_000_000_000;
const messages = Array.from({ length: RECORDS }, (_, i) => ({
  key: Buffer.from(`key-${String(i % 10_000).padStart(12, '0')}`), // 16 bytes
  value: Buffer.alloc(100, i % 251),
  timestamp: String(base + i * 3),
  ...(i % 10 === 0 ? { headers: { 'millrace.source': 'bench' } } : {}),
}));

function request() {
  return ProduceV3({
    acks: -1,
    timeout: 30_000,
    compression: 0,
    topicData: [
      { topic: 'bench-topic', partitions: [{ partition: 0, firstSequence: 0, messages }] },
    ],
  });
}

async function encodeOnce(): Promise<number> {
  if (FRAME) {
    const framed = await frame({
      correlationId: 1,
      clientId: 'millrace-bench',
      request: request(),
    });
    return framed.size();
  }
  const encoder = await request().encode();
  return encoder.size();
}

async function main() {
  const bytes = await encodeOnce();
  for (let i = 0; i < 50; i++) await encodeOnce(); // warm up
  console.log(
    `kafkajs produce v3 encode${FRAME ? ' + framing' : ''}: ${RECORDS} records/request, ${bytes} bytes/request`,
  );
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let requests = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      await encodeOnce();
      requests++;
      elapsed = performance.now() - t0;
    }
    const cpu = process.cpuUsage(cpu0);
    const rate = (requests * RECORDS) / (elapsed / 1000);
    const cpuRate = (requests * RECORDS) / ((cpu.user + cpu.system) / 1e6);
    rates.push(rate);
    cpuRates.push(cpuRate);
    console.log(`round ${round + 1}: ${fmt(rate)} records/s, ${fmt(cpuRate)} records/CPU-s`);
  }
  console.log(`median ${summary(rates)} records/s; ${summary(cpuRates)} records/CPU-s`);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${fmt(median)} (min ${fmt(sorted[0]!)}, max ${fmt(sorted[sorted.length - 1]!)})`;
}

await main();
