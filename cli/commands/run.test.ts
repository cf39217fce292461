import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../runtime/config.js';
import { runConfig } from './run.js';

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
