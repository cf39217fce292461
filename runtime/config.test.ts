import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromEnv, configFromFile, resolveConfig } from './config.js';
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

  it("takes Kafka Streams' name exactly_once_v2 for exactly_once; the transaction timeout defaults to 10s", () => {
    const v2 = resolveConfig(base, { processingGuarantee: 'exactly_once_v2' });
    expect(v2.processingGuarantee).toBe('exactly_once');
    expect(v2.commitInterval).toBe(100);
    expect(v2.transactionTimeout).toBe(10_000);
    expect(resolveConfig(base, { transactionTimeout: '30s' }).transactionTimeout).toBe(30_000);
    expect(
      resolveConfig(base, configFromEnv({ MILLRACE_TRANSACTION_TIMEOUT: '20s' }))
        .transactionTimeout,
    ).toBe(20_000);
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

  it('standby replicas and the query endpoint: defaults, environment, and what is refused', () => {
    const c = resolveConfig(base);
    expect([c.numStandbyReplicas, c.acceptableRecoveryLag, c.applicationServer]).toEqual([
      0,
      10_000,
      undefined,
    ]);
    const env = configFromEnv({
      MILLRACE_NUM_STANDBY_REPLICAS: '1',
      MILLRACE_ACCEPTABLE_RECOVERY_LAG: '500',
      MILLRACE_APPLICATION_SERVER: '10.0.0.5:9464',
    });
    expect(resolveConfig(base, env)).toMatchObject({
      numStandbyReplicas: 1,
      acceptableRecoveryLag: 500,
      applicationServer: '10.0.0.5:9464',
    });
    expect(() => resolveConfig(base, { numStandbyReplicas: -1 })).toThrow(/numStandbyReplicas/);
    expect(() => resolveConfig(base, { applicationServer: 'http://h:1' })).toThrow(
      /applicationServer: write host:port/,
    );
    expect(() => resolveConfig(base, { numStandbyReplicas: 1, storeBackend: 'memory' })).toThrow(
      /numStandbyReplicas: standby replicas keep their copies on disk; set storeBackend to leveldb/,
    );
  });

  it('commits caught-up tasks early by default; MILLRACE_COMMIT_WHEN_CAUGHT_UP takes true or false, and names the field otherwise', () => {
    expect(resolveConfig(base).commitWhenCaughtUp).toBe(true);
    const off = configFromEnv({ MILLRACE_COMMIT_WHEN_CAUGHT_UP: 'false' });
    expect(resolveConfig(base, off).commitWhenCaughtUp).toBe(false);
    const on = configFromEnv({ MILLRACE_COMMIT_WHEN_CAUGHT_UP: 'true' });
    expect(resolveConfig(base, { commitWhenCaughtUp: false }, on).commitWhenCaughtUp).toBe(true);
    expect(() =>
      resolveConfig(base, configFromEnv({ MILLRACE_COMMIT_WHEN_CAUGHT_UP: 'no' })),
    ).toThrow(/commitWhenCaughtUp: write true or false/);
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

  it('bounds memory by default: fetch sizes and LevelDB memory per store, settable from the environment', () => {
    const c = resolveConfig(base);
    expect([c.fetchMaxBytes, c.maxPartitionFetchBytes]).toEqual([1 << 20, 1 << 20]);
    expect([c.leveldbBlockCacheBytes, c.leveldbWriteBufferBytes]).toEqual([1 << 20, 1 << 20]);
    const env = configFromEnv({
      MILLRACE_FETCH_MAX_BYTES: '4194304',
      MILLRACE_MAX_PARTITION_FETCH_BYTES: '262144',
      MILLRACE_LEVELDB_BLOCK_CACHE_BYTES: '0',
      MILLRACE_LEVELDB_WRITE_BUFFER_BYTES: '65536',
    });
    expect(resolveConfig(base, env)).toMatchObject({
      fetchMaxBytes: 4 << 20,
      maxPartitionFetchBytes: 256 << 10,
      leveldbBlockCacheBytes: 0,
      leveldbWriteBufferBytes: 64 << 10,
    });
  });

  it('bounds what one restore fetch holds (4 MiB by default), settable from the environment', () => {
    expect(resolveConfig(base).restoreFetchMaxBytes).toBe(4 << 20);
    const env = configFromEnv({ MILLRACE_RESTORE_FETCH_MAX_BYTES: '1048576' });
    expect(resolveConfig(base, env).restoreFetchMaxBytes).toBe(1 << 20);
    expect(() => resolveConfig(base, { restoreFetchMaxBytes: 10 })).toThrow(
      /restoreFetchMaxBytes: must be at least 1024 bytes/,
    );
    expect(() =>
      resolveConfig(base, configFromEnv({ MILLRACE_RESTORE_FETCH_MAX_BYTES: '32MiB' })),
    ).toThrow(/restoreFetchMaxBytes: write a whole number of bytes, e.g. 1048576/);
  });

  it('names the byte setting that is wrong and the range it accepts', () => {
    expect(() => resolveConfig(base, { fetchMaxBytes: 100 })).toThrow(
      /fetchMaxBytes: must be at least 1024 bytes/,
    );
    expect(() => resolveConfig(base, { leveldbWriteBufferBytes: 1000 })).toThrow(
      /leveldbWriteBufferBytes: must be at least 65536 bytes/,
    );
    expect(() => resolveConfig(base, { leveldbBlockCacheBytes: 2 ** 31 })).toThrow(
      /leveldbBlockCacheBytes: must be at most 1073741824 bytes/,
    );
    expect(() =>
      resolveConfig(base, configFromEnv({ MILLRACE_MAX_PARTITION_FETCH_BYTES: '1MiB' })),
    ).toThrow(/maxPartitionFetchBytes: write a whole number of bytes, e.g. 1048576/);
    expect(() => resolveConfig(base, { fetchMaxBytes: 1536.5 })).toThrow(
      /fetchMaxBytes: write a whole number of bytes/,
    );
  });
});

describe('config files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-config-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads YAML and JSON, and sits between the defaults and the environment', () => {
    const yaml = write('millrace.yaml', 'commitInterval: 500ms\ncacheMaxEntries: 2000\n');
    const json = write('millrace.json', '{"processingGuarantee": "exactly_once"}');
    expect(configFromFile(yaml)).toEqual({ commitInterval: '500ms', cacheMaxEntries: 2000 });
    const env = configFromEnv({ MILLRACE_CACHE_MAX_ENTRIES: '3000' });
    const c = resolveConfig(configFromFile(yaml), configFromFile(json), env, base);
    expect(c).toMatchObject({
      commitInterval: 500,
      cacheMaxEntries: 3000,
      processingGuarantee: 'exactly_once',
      applicationId: 'app',
    });
    expect(resolveConfig(base).cacheMaxEntries).toBe(10_000);
  });

  it('names the file and the field of a wrong or unknown setting, and the fix', () => {
    const unknown = write('unknown.yaml', 'comitInterval: 1s\n');
    expect(() => configFromFile(unknown)).toThrow(
      `config file ${unknown}: unknown setting(s) comitInterval: remove them or check the spelling`,
    );
    const wrong = write('wrong.json', '{"commitInterval": "soon"}');
    expect(() => configFromFile(wrong)).toThrow(
      /^config file .*wrong\.json: commitInterval: "soon" is not a duration; write e\.g\. "100ms"/,
    );
    expect(() => configFromFile(write('list.yaml', '- a\n- b\n'))).toThrow(
      /write a mapping of settings/,
    );
    expect(() => configFromFile(write('millrace.toml', 'a = 1'))).toThrow(
      /name it \.yaml, \.yml or \.json/,
    );
    expect(() => configFromFile(path.join(dir, 'absent.yaml'))).toThrow(
      /cannot read config file .*absent\.yaml/,
    );
    expect(() => configFromFile(write('bad.json', '{'))).toThrow(ConfigError);
  });
});
