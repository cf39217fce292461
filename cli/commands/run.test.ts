import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../observability/metrics.js';
import { processorMetricsFor } from '../../observability/instrument.js';
import '../../processors/index.js';
import { resolveConfig } from '../../runtime/config.js';
import { buildTopology, parseTopology } from '../../topology/index.js';
import { runConfig, zeroDeclaredCounters } from './run.js';

describe('millrace run config', () => {
  const app = { processingGuarantee: 'exactly_once' as const, cacheMaxEntries: 5000 };

  it("takes the app's defaults when nothing else is said", () => {
    const c = resolveConfig(runConfig({}, app, 'finnhub-vwap', {}));
    expect(c.applicationId).toBe('finnhub-vwap');
    expect(c.processingGuarantee).toBe('exactly_once');
    expect(c.cacheMaxEntries).toBe(5000);
  });

  it("lets MILLRACE_* variables override the app's defaults, and flags override both", () => {
    const env = {
      MILLRACE_CACHE_MAX_ENTRIES: '20000',
      MILLRACE_PROCESSING_GUARANTEE: 'at_least_once',
      MILLRACE_APPLICATION_ID: 'from-env',
    };
    const fromEnv = resolveConfig(runConfig({}, app, 'finnhub-vwap', env));
    expect(fromEnv.cacheMaxEntries).toBe(20000);
    expect(fromEnv.processingGuarantee).toBe('at_least_once');
    expect(fromEnv.applicationId).toBe('from-env');
    const fromFlags = resolveConfig(
      runConfig({ guarantee: 'exactly_once', 'app-id': 'flag' }, app, 'finnhub-vwap', env),
    );
    expect(fromFlags.processingGuarantee).toBe('exactly_once');
    expect(fromFlags.applicationId).toBe('flag');
  });
});

describe('millrace run --config', () => {
  const app = { processingGuarantee: 'exactly_once' as const, cacheMaxEntries: 5000 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-run-config-'));
  const file = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };

  it("sits over the app's defaults and under MILLRACE_* variables and flags", () => {
    const config = file(
      'millrace.yaml',
      'applicationId: from-file\ncacheMaxEntries: 7000\ncommitInterval: 250ms\nbootstrapServers: f:1\n',
    );
    const fromFile = resolveConfig(runConfig({ config }, app, 'finnhub-vwap', {}));
    expect(fromFile).toMatchObject({
      applicationId: 'from-file',
      cacheMaxEntries: 7000,
      commitInterval: 250,
      bootstrapServers: ['f:1'],
      processingGuarantee: 'exactly_once',
    });
    const env = { MILLRACE_CACHE_MAX_ENTRIES: '8000', MILLRACE_APPLICATION_ID: 'from-env' };
    const fromEnv = resolveConfig(runConfig({ config }, app, 'finnhub-vwap', env));
    expect([fromEnv.applicationId, fromEnv.cacheMaxEntries]).toEqual(['from-env', 8000]);
    const flags = { config, 'app-id': 'from-flag', brokers: 'b:2' };
    const fromFlags = resolveConfig(runConfig(flags, app, 'finnhub-vwap', env));
    expect([fromFlags.applicationId, fromFlags.bootstrapServers]).toEqual(['from-flag', ['b:2']]);
  });

  it('rejects a setting it does not know, naming the file and the field', () => {
    const config = file('typo.json', '{"cacheMaxEntrys": 1}');
    expect(() => runConfig({ config }, app, 'finnhub-vwap', {})).toThrow(
      `config file ${config}: unknown setting(s) cacheMaxEntrys: remove them or check the spelling`,
    );
  });
});

describe('counters processors declare', () => {
  it('start at 0 before any task runs, for each processor of a type that declares them', async () => {
    const t = buildTopology(
      parseTopology(`
nodes:
  - { source: in, topics: [t] }
  - { processor: per-minute, type: windowed-count, parents: [in], options: { store: w, sizeMs: 60000 } }
  - { processor: totals, type: count, parents: [in], options: { store: c } }
  - { sink: out, topic: o, parents: [per-minute] }
`),
    );
    const metrics = new Metrics();
    zeroDeclaredCounters(
      t,
      processorMetricsFor(metrics, () => 'clicks'),
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain('millrace_window_emits_total{app="clicks",processor="per-minute"} 0');
    expect(text).toContain('millrace_late_records_total{app="clicks",processor="per-minute"} 0');
    // A type that declares none gets none.
    expect(text).not.toContain('processor="totals"');
  });
});
