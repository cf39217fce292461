import { describe, expect, it } from 'vitest';
import {
  buildFingerprint,
  caseName,
  caseSlug,
  commitIntervalMs,
  kstreamsCases,
  type KStreamsCase,
  parseDone,
  toBenchCase,
} from './kstreams-cases.js';

describe('bench:kstreams cases', () => {
  it("commits at millrace's default intervals: 1000 ms at-least-once, 100 ms exactly-once", () => {
    expect(commitIntervalMs('at_least_once')).toBe(1000);
    expect(commitIntervalMs('exactly_once_v2')).toBe(100);
  });

  it('runs 6 cases per thread count, each with its own slug', () => {
    const cases = kstreamsCases([1, 2]);
    expect(cases).toHaveLength(12);
    expect(new Set(cases.map(caseSlug)).size).toBe(12);
    expect(new Set(cases.map((c) => `${caseName(c)} ${c.guarantee}`)).size).toBe(12);
    expect(cases.filter((c) => c.threads === 2)).toHaveLength(6);
  });

  it('keeps only the cases named by BENCH_CASES words', () => {
    const cases = kstreamsCases([1], ['stateless']);
    expect(cases.map(caseSlug)).toEqual(['stateless-alos-t1', 'stateless-eos-t1']);
    expect(kstreamsCases([1], ['cache off']).map(caseSlug)).toEqual([
      'stateful-nocache-alos-t1',
      'stateful-nocache-eos-t1',
    ]);
  });

  it("names rows so they start like bench:engine's", () => {
    const [stateless, cached, uncached] = kstreamsCases([2]).filter(
      (c) => c.guarantee === 'at_least_once',
    ) as [KStreamsCase, KStreamsCase, KStreamsCase];
    expect(caseName(stateless)).toBe('stateless map/filter, 2 stream threads');
    expect(caseName(cached)).toBe(
      'count-by-key, RocksDB + changelog, record cache 10 MiB (default), 2 stream threads',
    );
    expect(caseName(uncached)).toBe(
      'count-by-key, RocksDB + changelog, record cache off, 2 stream threads',
    );
  });
});

describe("the Java program's answer", () => {
  const line =
    '{"event":"done","seconds":12.5,"records":2000000,"consumed":2000000,"peakRssMiB":412.3,"allConsumedSeconds":11.9,"threads":1}';

  it('becomes a result row: rate from records and seconds, RSS from VmHWM', () => {
    const [c] = kstreamsCases([1], ['record cache off']);
    expect(toBenchCase(c!, parseDone(line))).toEqual({
      case: 'count-by-key, RocksDB + changelog, record cache off, 1 stream thread',
      guarantee: 'at_least_once',
      records: 2_000_000,
      seconds: 12.5,
      records_per_s: 160_000,
      p50_ms: null,
      p99_ms: null,
      rss_mib: 412.3,
      stream_threads: 1,
      commit_interval_ms: 1000,
      statestore_cache_max_bytes: 0,
      all_consumed_s: 11.9,
    });
  });

  it('reports a failure with the error the program gave', () => {
    expect(() => parseDone('{"event":"failed","error":"stream thread died: boom"}')).toThrow(
      /failed: stream thread died: boom/,
    );
  });

  it('refuses an answer without a valid figure', () => {
    expect(() => parseDone('not json')).toThrow(/other than JSON/);
    expect(() => parseDone(line.replace('"seconds":12.5', '"seconds":0'))).toThrow(
      /not a finished/,
    );
    expect(() => parseDone(line.replace(',"peakRssMiB":412.3', ''))).toThrow(/peakRssMiB/);
  });
});

describe('the build fingerprint', () => {
  const files = [
    { path: 'pom.xml', content: '<project/>' },
    { path: 'src/A.java', content: 'class A {}' },
  ];

  it('does not depend on the order the files are listed in', () => {
    expect(buildFingerprint('4.4.0', files)).toBe(buildFingerprint('4.4.0', [...files].reverse()));
  });

  it('changes with a source or the Kafka version', () => {
    const base = buildFingerprint('4.4.0', files);
    expect(buildFingerprint('4.3.0', files)).not.toBe(base);
    expect(
      buildFingerprint('4.4.0', [files[0]!, { path: 'src/A.java', content: 'class A { }' }]),
    ).not.toBe(base);
  });
});
