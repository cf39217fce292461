/**
 * A real Prometheus scrapes a real `millrace run` instance (word count, exactly-once, two
 * partitions, records flowing from a feeder) every second. Through Prometheus's HTTP
 * API the test checks what an operator would query: the target is up, the processing
 * rate is positive while records flow, the counters equal what the test produced, the
 * commit histogram is well formed and agrees with the commit counter, lag drains to
 * zero, and Node's process metrics are there.
 *
 * Needs the `prometheus` binary (`bash deploy/local/ensure-tools.sh`, or
 * `apt-get install -y prometheus`); without it the test fails and says so, unless
 * MILLRACE_SKIP_PROMETHEUS=1 opts out.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  freePort,
  startObservedInstance,
  type ObservedInstance,
} from '../support/observed-instance.js';
import {
  eventually as eventuallyWith,
  startPrometheus,
  type PrometheusServer,
} from '../support/prometheus.js';
import { findExecutable, installHint } from '../support/tools.js';

const binary = findExecutable('prometheus');
const optedOut = process.env.MILLRACE_SKIP_PROMETHEUS === '1';

let instance: ObservedInstance | undefined;
let prometheus: PrometheusServer | undefined;
let promUrl = '';
/** The second member's metrics port, known to Prometheus from the start (down until it joins). */
let secondPort = 0;

/** Polls `check` until it returns true; fails with the last error and Prometheus's log. */
const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) =>
  eventuallyWith(what, check, timeoutMs, () => `prometheus log: ${prometheus?.log() ?? ''}`);

interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query through Prometheus's HTTP API. */
async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** The single value of `expr` (NaN when the result is empty). */
async function scalar(expr: string): Promise<number> {
  const r = await query(expr);
  return r.length === 1 ? r[0]!.value : NaN;
}

(optedOut && !binary ? describe.skip : describe)('metrics scraped by a real Prometheus', () => {
  const app = () => `app="${instance!.run}"`;
  const first = () => `instance="127.0.0.1:${instance!.port}"`;
  const second = () => `instance="127.0.0.1:${secondPort}"`;

  beforeAll(async () => {
    if (!binary)
      throw new Error(installHint('prometheus', 'prometheus', 'MILLRACE_SKIP_PROMETHEUS'));
    instance = await startObservedInstance(inject('kafkaBrokers'), { prefix: 'it-prom' });
    instance.feeder.resume(20, 100); // ~200 records/s
    secondPort = await freePort();
    prometheus = await startPrometheus(binary, {
      millrace: [`127.0.0.1:${instance.port}`, `127.0.0.1:${secondPort}`],
    });
    promUrl = prometheus.url;
  });

  afterAll(async () => {
    await prometheus?.stop();
    await instance?.stop();
  });

  it("accepts the shipped deploy/prometheus/prometheus.yml (promtool's config check)", () => {
    const promtool = findExecutable('promtool');
    expect(promtool, 'promtool comes with the prometheus package').toBeDefined();
    const r = spawnSync(promtool!, ['check', 'config', 'deploy/prometheus/prometheus.yml'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('finds the instance as an up target', async () => {
    await eventually('target up', async () => {
      const res = await fetch(`${promUrl}/api/v1/targets?state=active`);
      const body = (await res.json()) as {
        data: { activeTargets: Array<{ health: string; scrapeUrl: string; lastError: string }> };
      };
      const health = (port: number) =>
        body.data.activeTargets.find((a) => a.scrapeUrl === `http://127.0.0.1:${port}/metrics`)
          ?.health;
      return health(instance!.port) === 'up' && health(secondPort) === 'down';
    });
    expect(await scalar(`up{job="millrace",${first()}}`)).toBe(1);
    expect(await scalar(`up{job="millrace",${second()}}`)).toBe(0); // joins later
  });

  it('sees records processed at a positive rate while they flow', async () => {
    let rate = 0;
    await eventually('positive processing rate', async () => {
      rate = await scalar(`sum(rate(millrace_records_processed_total{${app()}}[5s]))`);
      return rate > 0;
    });
    // The feeder sends about 200 records/s; a rate far above that would be double counting.
    expect(rate).toBeLessThan(1000);
    const byTask = await query(`millrace_records_processed_total{${app()}}`);
    expect(byTask.map((s) => s.metric.task).sort()).toEqual(['0_0', '0_1']);
  });

  it('counts exactly what the test produced, dead letters included, and the lag drains to zero', async () => {
    await instance!.feeder.poison(3);
    const total = await instance!.feeder.pause();
    const good = total - 3;
    expect(good).toBeGreaterThan(0);
    await eventually(
      `processed = ${total}`,
      async () => (await scalar(`sum(millrace_records_processed_total{${app()}})`)) === total,
    );
    expect(await scalar(`sum(millrace_records_consumed_total{${app()}})`)).toBe(total);
    // Count emits one output record per good input record; the three that are not JSON go
    // to the dead-letter topic, counted by reason. The changelog gets at most one per record.
    await eventually(
      `produced to ${instance!.output} = ${good}`,
      async () =>
        (await scalar(
          `sum(millrace_records_produced_total{${app()},topic="${instance!.output}"})`,
        )) === good,
    );
    expect(
      await scalar(`sum(millrace_records_produced_total{${app()},topic="${instance!.run}-dlq"})`),
    ).toBe(3);
    expect(
      await scalar(`millrace_dlq_records_total{${app()},reason="deserialization_error"}`),
    ).toBe(3);
    const changelog = await scalar(
      `sum(millrace_records_produced_total{${app()},topic="${instance!.run}-counts-changelog"})`,
    );
    expect(changelog).toBeGreaterThanOrEqual(10); // at least each of the 10 keys once
    expect(changelog).toBeLessThanOrEqual(total);
    await eventually('lag 0 on both partitions', async () => {
      const lag = await query(`millrace_consumer_lag_records{${app()},topic="${instance!.input}"}`);
      return lag.length === 2 && lag.every((s) => s.value === 0);
    });
    expect(await scalar(`sum(millrace_tasks{${app()},state="running"})`)).toBe(2);
  });

  it('times one record in 64 per processor, and reports store entries, bytes and cache hits', async () => {
    // The flow is stopped (previous test): one timed call of `count` per 64 decoded records
    // per task (the three undecodable ones reach no processor, so up to 3 fewer).
    const perTask = await query(`millrace_records_processed_total{${app()}}`);
    const most = perTask.reduce((n, s) => n + Math.floor(s.value / 64), 0);
    expect(most).toBeGreaterThan(3);
    await eventually(`${most - 3}…${most} timed calls`, async () => {
      const n = await scalar(
        `sum(millrace_process_latency_seconds_count{${app()},processor="count"})`,
      );
      return n >= most - 3 && n <= most;
    });
    const mean = await scalar(
      `sum(millrace_process_latency_seconds_sum{${app()}}) / sum(millrace_process_latency_seconds_count{${app()}})`,
    );
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(0.1);
    // Ten keys (w0…w9) counted across the two tasks' LevelDB stores.
    await eventually(
      'ten entries in the counts stores',
      async () => (await scalar(`sum(millrace_store_entries{${app()},store="counts"})`)) === 10,
    );
    // Both tasks' LevelDB directories hold files (log, manifest, tables).
    const bytes = await query(`millrace_store_bytes{${app()},store="counts"}`);
    expect(bytes.map((b) => b.metric.task).sort()).toEqual(['0_0', '0_1']);
    for (const b of bytes) expect(b.value).toBeGreaterThan(0);
    // Each key misses the cache once, then every read of it hits.
    const ratio = await scalar(`millrace_cache_hit_ratio{${app()},store="counts"}`);
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThanOrEqual(1);
  });

  it('has commit counts that agree with a well-formed commit-duration histogram', async () => {
    // Both come from the same scrape, so they agree exactly.
    const commits = await scalar(`sum(millrace_commits_total{${app()},result="ok"})`);
    const count = await scalar(`sum(millrace_commit_duration_seconds_count{${app()}})`);
    expect(commits).toBeGreaterThan(0);
    expect(count).toBe(commits);
    expect(await query(`millrace_transactions_aborted_total{${app()}} > 0`)).toEqual([]);
    const buckets = (await query(`millrace_commit_duration_seconds_bucket{${app()}}`))
      .map((s) => ({ le: s.metric.le === '+Inf' ? Infinity : Number(s.metric.le), n: s.value }))
      .sort((a, b) => a.le - b.le);
    expect(buckets.length).toBeGreaterThan(5);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]!.n).toBeGreaterThanOrEqual(buckets[i - 1]!.n);
    expect(buckets.at(-1)).toEqual({ le: Infinity, n: count });
    const p99 = await scalar(
      `histogram_quantile(0.99, sum by (le) (millrace_commit_duration_seconds_bucket{${app()}}))`,
    );
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(10);
  });

  it("exports Node's process metrics", async () => {
    const rss = await scalar(
      `millrace_node_process_resident_memory_bytes{job="millrace",${first()}}`,
    );
    expect(rss).toBeGreaterThan(20 * 2 ** 20);
    expect(rss).toBeLessThan(4 * 2 ** 30);
    expect(
      await scalar(`millrace_node_nodejs_heap_size_used_bytes{job="millrace",${first()}}`),
    ).toBeGreaterThan(0);
    expect(
      await scalar(`rate(millrace_node_process_cpu_seconds_total{job="millrace",${first()}}[10s])`),
    ).toBeGreaterThan(0);
  });

  it('sees a second member join: the rebalance timed from revoke to running, the moved task restored', async () => {
    // The first join is counted and timed too (from the join to all tasks running).
    const timedBefore = await scalar(
      `millrace_rebalance_duration_seconds_count{${app()},${first()}}`,
    );
    expect(timedBefore).toBeGreaterThanOrEqual(1);
    instance!.feeder.resume(20, 100);
    await instance!.addMember(secondPort);
    await eventually(
      'one running task on each member',
      async () => {
        const r = await query(`millrace_tasks{${app()},state="running"}`);
        return r.length === 2 && r.every((x) => x.value === 1);
      },
      60_000,
    );
    await eventually(
      'a rebalance timed on the first member',
      async () =>
        (await scalar(`millrace_rebalance_duration_seconds_count{${app()},${first()}}`)) >
        timedBefore,
    );
    expect(await scalar(`millrace_rebalances_total{${app()},${first()}}`)).toBeGreaterThanOrEqual(
      2,
    );
    const mean = await scalar(
      `millrace_rebalance_duration_seconds_sum{${app()},${first()}} / millrace_rebalance_duration_seconds_count{${app()},${first()}}`,
    );
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(60);
    // The new member has its own state directory: the task it took restored from the changelog.
    await eventually(
      'restore finished on the second member',
      async () =>
        (await scalar(`sum(millrace_restore_records_total{${app()},${second()}})`)) > 0 &&
        (await scalar(`sum(millrace_restore_remaining_records{${app()},${second()}})`)) === 0,
    );
    await eventually(
      'both members processing',
      async () =>
        (
          await query(
            `sum by (instance) (rate(millrace_records_processed_total{${app()}}[3s])) > 0`,
          )
        ).length === 2,
    );
  });
});
