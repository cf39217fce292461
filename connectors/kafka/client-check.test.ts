import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkKafkaClient, loadedKafkaClient, REQUIRED_CLIENT_FEATURES } from './client-check.js';

/** A fake kafkajs folder with the given marker (or none), resolved as `kafkajs`. */
function fakeKafkajs(marker?: object): (id: string) => string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-kafkajs-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version: '2.2.4' }));
  if (marker) fs.writeFileSync(path.join(dir, 'millrace-patch.json'), JSON.stringify(marker));
  return (id) => path.join(dir, id.replace(/^kafkajs\//, ''));
}

describe('the Kafka client check', () => {
  it('passes on the kafkajs this repository loads: the patched copy, with every feature the guarantees need', () => {
    const client = loadedKafkaClient();
    expect(client.kafkajs).toBe('2.2.4');
    expect(client.patch?.features).toEqual(
      expect.arrayContaining([...REQUIRED_CLIENT_FEATURES.exactly_once]),
    );
    expect(() => checkKafkaClient('exactly_once', client)).not.toThrow();
    expect(() => checkKafkaClient('at_least_once', client)).not.toThrow();
  });

  it('stops on an unpatched kafkajs, naming where it was loaded from and the fix', () => {
    const client = loadedKafkaClient(fakeKafkajs());
    expect(client.patch).toBeUndefined();
    for (const g of ['at_least_once', 'exactly_once'] as const)
      expect(() => checkKafkaClient(g, client)).toThrow(
        expect.objectContaining({
          code: 'KAFKA_CLIENT_UNPATCHED',
          domain: 'user',
          message: expect.stringMatching(
            new RegExp(
              `kafkajs loaded from ${client.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(2\\.2\\.4\\) is not the copy millrace ships.*${g}.*reinstall millrace`,
            ),
          ),
        }),
      );
  });

  it('names the features a guarantee needs that an older patch lacks', () => {
    // An older patch: what at-least-once needs, and one of exactly-once's own features.
    const older = [...REQUIRED_CLIENT_FEATURES.at_least_once, 'txn-offset-commit-v3'];
    const client = loadedKafkaClient(fakeKafkajs({ version: 0, features: older }));
    expect(() => checkKafkaClient('at_least_once', client)).not.toThrow();
    const lacking = REQUIRED_CLIENT_FEATURES.exactly_once.filter((f) => !older.includes(f));
    expect(lacking.length).toBeGreaterThan(0);
    expect(() => checkKafkaClient('exactly_once', client)).toThrow(
      `(millrace patch version 0) lacks ${lacking.join(', ')}, which exactly_once needs`,
    );
    const bare = loadedKafkaClient(fakeKafkajs({ version: 0, features: [] }));
    expect(() => checkKafkaClient('at_least_once', bare)).toThrow(
      `lacks ${REQUIRED_CLIENT_FEATURES.at_least_once.join(', ')}, which at_least_once needs`,
    );
  });
});
