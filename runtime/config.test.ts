import { describe, expect, it } from 'vitest';
import { configFromEnv, resolveConfig } from './config.js';
import { ConfigError } from './errors.js';

const base = { applicationId: 'app', bootstrapServers: '127.0.0.1:9092' };

describe('streams config', () => {
  it('applies defaults, with the commit interval depending on the guarantee', () => {
    expect(resolveConfig(base).commitInterval).toBe(1000);
    const eos = resolveConfig(base, { processingGuarantee: 'exactly_once' });
    expect(eos.commitInterval).toBe(100);
    expect(eos.deadLetterTopic).toBe('app-dlq');
    expect(Object.isFrozen(eos)).toBe(true);
  });

  it('parses durations and broker lists', () => {
    const c = resolveConfig(base, {
      commitInterval: '250ms',
      sessionTimeout: '6s',
      bootstrapServers: 'a:1, b:2',
    });
    expect(c.commitInterval).toBe(250);
    expect(c.sessionTimeout).toBe(6000);
    expect(c.bootstrapServers).toEqual(['a:1', 'b:2']);
  });

  it('names the field and the fix', () => {
    expect(() => resolveConfig(base, { commitInterval: 'soon' })).toThrow(
      /commitInterval: "soon" is not a duration; write e.g. "100ms"/,
    );
    expect(() => resolveConfig(base, { processingGuarantee: 'exactly_twice' as never })).toThrow(
      /processingGuarantee/,
    );
    expect(() => resolveConfig({ bootstrapServers: 'a:1' })).toThrow(
      /applicationId is required \(or set MILLRACE_APPLICATION_ID\)/,
    );
    expect(() => resolveConfig(base, { comitInterval: '1s' } as never)).toThrow(
      /unknown setting\(s\) comitInterval/,
    );
    expect(() => resolveConfig(base, { bootstrapServers: 'nohost' })).toThrow(/host:port/);
    expect(() => resolveConfig(base, { commitInterval: 'soon' })).toThrow(ConfigError);
  });

  it('layers file < environment < code', () => {
    const env = configFromEnv({
      MILLRACE_COMMIT_INTERVAL: '2s',
      MILLRACE_PROCESSING_GUARANTEE: 'exactly_once',
    });
    const c = resolveConfig(base, { commitInterval: '5s' }, env, {
      processingGuarantee: 'at_least_once',
    });
    expect(c.commitInterval).toBe(2000);
    expect(c.processingGuarantee).toBe('at_least_once');
  });
});
