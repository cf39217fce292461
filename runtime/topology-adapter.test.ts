import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../processors/index.js';
import { jsonSerde } from '../state/index.js';
import { TopologyBuilder } from '../topology/index.js';
import { StreamsApp } from './app.js';
import { ConfigError } from './errors.js';
import { checkSerdes } from './topology-adapter.js';
import { serdeResolver } from './task/create.js';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-serde-check-'));
afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

/** A count by key whose source (value), sink (value) and store (key) name the serdes given. */
function topology(o: { source: string; sink: string; store: string }) {
  const b = new TopologyBuilder('serde-check');
  b.stream('in', { key: 'string', value: o.source }, 'in')
    .groupByKey({ keySerde: o.store, valueSerde: 'string' })
    .count({ name: 'counts', store: 'counts-store' })
    .to('out', { key: 'string', value: o.sink }, 'out');
  return b.build('serde-check');
}

describe('serde names are checked before an instance connects', () => {
  it('names each unknown serde with the node or store and field that names it', () => {
    const built = topology({ source: 'jsno', sink: 'json', store: 'jsno' });
    let err: unknown;
    try {
      checkSerdes(built, serdeResolver());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('source "in" has valueSerde "jsno"');
    expect(msg).toContain('store "counts-store" has keySerde "jsno"');
    expect(msg).not.toContain('sink');
    expect(msg).toContain('Known: string, json, bytes, int64, float64');
    expect(msg).toContain('registerSerde');
  });

  it('accepts built-in names and the extra serdes an app gives (e.g. Avro ones)', () => {
    const built = topology({ source: 'avro-in', sink: 'json', store: 'string' });
    expect(() => checkSerdes(built, serdeResolver({ 'avro-in': jsonSerde }))).not.toThrow();
    expect(() => checkSerdes(built, serdeResolver())).toThrow(
      /source "in" has valueSerde "avro-in"/,
    );
  });

  it('StreamsApp.start() fails with it at once, without trying the brokers', async () => {
    const app = new StreamsApp(topology({ source: 'string', sink: 'jsno', store: 'string' }), {
      applicationId: 'serde-check',
      // Nothing listens here: a start that got as far as connecting would fail otherwise.
      bootstrapServers: '127.0.0.1:1',
      stateDir,
    });
    const t0 = Date.now();
    await expect(app.start()).rejects.toThrow('sink "out" has valueSerde "jsno"');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
