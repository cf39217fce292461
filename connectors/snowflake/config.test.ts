import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { connectionOptions } from './connection.js';
import { snowflakeSinkConfig } from './config.js';

const base = {
  SNOWFLAKE_ACCOUNT: 'myorg-acct',
  SNOWFLAKE_USER: 'loader',
  SNOWFLAKE_PASSWORD: 'pw-Secret-123',
};

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('snowflakeSinkConfig', () => {
  it('fills defaults: MARKETS.PUBLIC, https, merge, symbol+timestamp', () => {
    const cfg = snowflakeSinkConfig(base);
    expect(cfg).toMatchObject({
      account: 'myorg-acct',
      username: 'loader',
      database: 'MARKETS',
      schema: 'PUBLIC',
      protocol: 'https',
      upsert: 'merge',
      dedupeKey: 'symbol+timestamp',
      createDatabase: false,
    });
    expect(cfg.auth).toMatchObject({ kind: 'password', password: 'pw-Secret-123' });
    expect(connectionOptions(cfg)).toMatchObject({
      account: 'myorg-acct',
      password: 'pw-Secret-123',
      database: 'MARKETS',
    });
    expect(connectionOptions(cfg).accessUrl).toBeUndefined();
  });

  it('points at an emulator with SNOWFLAKE_HOST/PORT/PROTOCOL', () => {
    const cfg = snowflakeSinkConfig({
      ...base,
      SNOWFLAKE_HOST: '127.0.0.1',
      SNOWFLAKE_PORT: '8086',
      SNOWFLAKE_PROTOCOL: 'http',
      SNOWFLAKE_UPSERT: 'delete-insert',
      SNOWFLAKE_CREATE_DATABASE: 'true',
    });
    expect(connectionOptions(cfg).accessUrl).toBe('http://127.0.0.1:8086');
    expect(cfg).toMatchObject({ upsert: 'delete-insert', createDatabase: true });
  });

  it('names every missing or bad variable with its fix', () => {
    const err = errorOf(() =>
      snowflakeSinkConfig({
        SNOWFLAKE_PORT: '99999',
        SNOWFLAKE_DATABASE: 'my-db',
        SNOWFLAKE_PROTOCOL: 'ftp',
      }),
    );
    expect(err).toMatchObject({ name: 'SinkError', code: 'SINK_CONFIG_INVALID', domain: 'user' });
    expect(err.message).toMatch(
      /SNOWFLAKE_ACCOUNT: is not set — set it to your account identifier/,
    );
    expect(err.message).toMatch(/SNOWFLAKE_USER: is not set/);
    expect(err.message).toMatch(/SNOWFLAKE_PORT: .* — set a port between 1 and 65535/);
    expect(err.message).toMatch(/SNOWFLAKE_DATABASE: must be an unquoted Snowflake identifier/);
    expect(err.message).toMatch(/SNOWFLAKE_PROTOCOL: .* — use http \(emulators only\) or https/);
    expect(err.message).toMatch(
      /SNOWFLAKE_PASSWORD: neither SNOWFLAKE_PASSWORD nor SNOWFLAKE_PRIVATE_KEY_PATH is set/,
    );
  });

  it('wants exactly one way to log in, and a readable key file', () => {
    expect(
      errorOf(() => snowflakeSinkConfig({ ...base, SNOWFLAKE_PRIVATE_KEY_PATH: '/etc/hostname' }))
        .message,
    ).toMatch(/both SNOWFLAKE_PASSWORD and SNOWFLAKE_PRIVATE_KEY_PATH are set/);
    const { SNOWFLAKE_PASSWORD: _pw, ...noPassword } = base;
    expect(
      errorOf(() =>
        snowflakeSinkConfig({ ...noPassword, SNOWFLAKE_PRIVATE_KEY_PATH: '/nonexistent/key.p8' }),
      ).message,
    ).toMatch(/SNOWFLAKE_PRIVATE_KEY_PATH: cannot read \/nonexistent\/key\.p8/);
    const key = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-key-')), 'key.p8');
    fs.writeFileSync(key, 'not checked here');
    const cfg = snowflakeSinkConfig({
      ...noPassword,
      SNOWFLAKE_PRIVATE_KEY_PATH: key,
      SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'phrase-Secret',
    });
    expect(connectionOptions(cfg)).toMatchObject({
      authenticator: 'SNOWFLAKE_JWT',
      privateKeyPath: key,
      privateKeyPass: 'phrase-Secret',
    });
  });

  it('keeps secrets out of errors and out of a logged config', () => {
    const err = errorOf(() =>
      snowflakeSinkConfig({
        SNOWFLAKE_PASSWORD: 'pw-Secret-123',
        SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'phrase-Secret',
      }),
    );
    expect(err.message).not.toMatch(/pw-Secret-123|phrase-Secret/);
    const cfg = snowflakeSinkConfig(base);
    expect(JSON.stringify(cfg)).not.toContain('pw-Secret-123');
    expect(inspect(cfg, { depth: 10 })).not.toContain('pw-Secret-123');
  });

  it('validates code options too', () => {
    expect(
      errorOf(() => snowflakeSinkConfig(base, { maxRowsPerStatement: 20_000 })).message,
    ).toMatch(/options\.maxRowsPerStatement/);
    expect(
      errorOf(() => snowflakeSinkConfig(base, { dedupeKey: 'uuid' as never })).message,
    ).toMatch(/options\.dedupeKey/);
  });
});
