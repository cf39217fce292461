import { describe, expect, it } from 'vitest';
import {
  comparePairs,
  pairResult,
  pairsTable,
  parseConsumerPerformance,
  parseProducerPerformance,
  probeWindow,
  type ProbeSample,
} from './compare.js';

const s = (t: number, committed: number, members = 1, state = 'Stable'): ProbeSample => ({
  t,
  committed,
  members,
  state,
});

describe('bench:compare', () => {
  it('pairs every shape with each guarantee and scale, each with its own id', () => {
    const pairs = comparePairs([1, 2]);
    expect(pairs).toHaveLength(16);
    expect(new Set(pairs.map((p) => p.id)).size).toBe(16);
    expect(comparePairs([1], ['count-defaults']).map((p) => p.id)).toEqual([
      'count-defaults-alos-x1',
      'count-defaults-eos-x1',
    ]);
    // The like-for-like pairs: KS's record cache off against every update, on against on-commit.
    const every = pairs.find((p) => p.id === 'count-every-eos-x1')!;
    expect(every.millrace).toEqual({ how: 'library', kind: 'stateful' });
    expect(every.kstreams).toEqual({ kind: 'stateful', cacheMaxBytes: 0 });
    const collapsed = pairs.find((p) => p.id === 'count-collapsed-alos-x2')!;
    expect(collapsed.millrace).toEqual({ how: 'library', kind: 'stateful-on-commit' });
    expect(collapsed.kstreams.cacheMaxBytes).toBeUndefined();
    expect(pairs.find((p) => p.id === 'count-defaults-alos-x2')!.millrace.how).toBe('cli');
  });

  it('times from the first commit after the group is complete to the end', () => {
    const total = 1000;
    const samples = [
      s(0, 0, 1, 'PreparingRebalance'),
      s(10, 0, 2, 'CompletingRebalance'),
      s(20, 100, 1), // the first member alone: not yet complete
      s(30, 100, 2),
      s(40, 100, 2), // complete, no new commit yet
      s(50, 300, 2), // the window starts here
      s(60, 700, 2),
      s(70, 1000, 2),
    ];
    const w = probeWindow(samples, 2, total, (x) => x.committed === total)!;
    expect(w.start).toBe(50);
    expect(w.end).toBe(70);
    expect(w.committedAtStart).toBe(300);
    expect(w.records).toBe(700);
    expect(w.recordsPerS).toBe(35_000);
  });

  it('has no window before the group is complete, a commit seen, and the end', () => {
    const done = (x: ProbeSample) => x.committed === 10;
    expect(probeWindow([s(0, 0, 1), s(10, 10, 1)], 2, 10, done)).toBeUndefined();
    expect(probeWindow([s(0, 10, 1)], 1, 10, done)).toBeUndefined();
    expect(probeWindow([s(0, 0), s(10, 5)], 1, 10, done)).toBeUndefined();
  });

  it('gives each pair its ratio and each side its share of the produce limit', () => {
    const p = comparePairs([1], ['stateless-eos'])[0]!;
    const r = pairResult(
      p,
      { records_per_s: 150_000, rss_mib: 180 },
      { records_per_s: 200_000, rss_mib: 800 },
      500_000,
    );
    expect(r.ratio).toBe(0.75);
    expect(r.millrace_to_produce_limit).toBe(0.3);
    expect(r.kstreams_to_produce_limit).toBe(0.4);
    const table = pairsTable([r], { produce_records_per_s: 500_000, consume_records_per_s: 1e6 });
    expect(table[2]).toContain('**0.75**');
    expect(table.at(-1)).toContain('produce 500,000 rec/s');
  });

  it("reads Kafka's perf tools' results", () => {
    expect(
      parseProducerPerformance(
        '1000 records sent, 200.0 records/sec\n2000000 records sent, 541418.5 records/sec (51.63 MB/sec), 41.52 ms avg latency, 300.00 ms max latency.\n',
      ),
    ).toBe(541419);
    expect(() => parseProducerPerformance('oops')).toThrow(/no summary/);
    expect(
      parseConsumerPerformance(
        'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n2026-12-06 16:00:00:000, 2026-12-06 16:00:04:000, 190.7, 47.6, 2000000, 500000.0, 2800, 1200, 158.9, 1666666.7\n',
      ),
    ).toBe(1666667);
  });
});
