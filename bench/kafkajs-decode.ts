/**
 * `npx tsx bench/kafkajs-decode.ts`: CPU cost of kafkajs's fetch-side decoding, alone (no
 * broker, no network): one record batch of BENCH_RECORDS records (16-byte keys, 100-byte
 * values, increasing timestamps, a header on every tenth record, first offset past 2^32 as
 * on a long-lived partition) decoded by kafkajs's record-batch decoder and turned into the
 * consumer's Batch (which filters by the fetched offset), over and over. Prints records/s per
 * round, per second of wall clock and per second of this process's CPU time. Measures
 * whatever kafkajs is installed in node_modules (patched or not).
 *
 * BENCH_RECORDS (default 5000), BENCH_ROUNDS (default 5), BENCH_ROUND_MS (default 2000).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long');
const Decoder = require('kafkajs/src/protocol/decoder');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0');
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');
const Batch = require('kafkajs/src/consumer/batch');

const RECORDS = Number(process.env.BENCH_RECORDS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);

const firstOffset = '5000000000';
const firstTimestamp = 1_700_000_000_000;

async function batchBytes(): Promise<Buffer> {
  const records = Array.from({ length: RECORDS }, (_, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: i * 3,
      key: Buffer.from(`key-${String(i % 10_000).padStart(12, '0')}`),
      value: Buffer.alloc(100, i % 251),
      headers: i % 10 === 0 ? { 'millrace.source': 'bench' } : {},
    }),
  );
  const batch = await RecordBatch({
    firstOffset: Long.fromValue(firstOffset),
    firstTimestamp,
    maxTimestamp: firstTimestamp + (RECORDS - 1) * 3,
    lastOffsetDelta: RECORDS - 1,
    records,
  });
  return batch.buffer as Buffer;
}

async function decodeOnce(bytes: Buffer): Promise<number> {
  const decoded = await decodeRecordBatch(new Decoder(bytes));
  const batch = new Batch('bench-topic', firstOffset, {
    partition: 0,
    highWatermark: String(BigInt(firstOffset) + BigInt(RECORDS)),
    abortedTransactions: [],
    messages: decoded.records,
  });
  return batch.messages.length;
}

async function main() {
  const bytes = await batchBytes();
  const n = await decodeOnce(bytes);
  if (n !== RECORDS) throw new Error(`decoded ${n} records of ${RECORDS}`);
  for (let i = 0; i < 50; i++) await decodeOnce(bytes); // warm up
  console.log(
    `kafkajs record batch decode + consumer Batch: ${RECORDS} records, ${bytes.length} bytes`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    let batches = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    while (performance.now() - t0 < ROUND_MS) {
      await decodeOnce(bytes);
      batches++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const records = batches * RECORDS;
    console.log(
      `round ${round + 1}: ${Math.round(records / seconds).toLocaleString('en-US')} records/s wall, ` +
        `${Math.round(records / cpuSeconds).toLocaleString('en-US')} records per CPU-second`,
    );
  }
}

await main();
