/**
 * The local registry keeps its schemas across a restart, as Kafka keeps its log: a record
 * framed with a schema id before the restart is still readable after it, and new schemas
 * get new ids (never one already in Kafka's log). The test starts a registry of its own
 * (own port, own run directory) so that the shared one the other tests use is not touched,
 * and stops it by pid.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type InfraConfig } from '../../deploy/local/config.js';
import { down } from '../../deploy/local/infra.js';
import { registryDataDir, registryUp } from '../../deploy/local/registry.js';
import type { ServiceEntry } from '../../deploy/local/state.js';
import { AvroRegistrySerde, RegistryClient } from '../../connectors/registry/index.js';

const schema = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] };
const other = { type: 'record', name: 'S', fields: [{ name: 'b', type: 'long' }] };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-registry-restart-'));
let cfg: InfraConfig;
let running: ServiceEntry[] = [];

async function start(): Promise<string> {
  running = await registryUp(cfg, path.join(runDir, 'setup.log'));
  expect(running.map((e) => e.name)).toEqual(['registry']);
  return `http://${cfg.host}:${cfg.registry.port}/apis/ccompat/v7`;
}

afterAll(async () => {
  await down(running, cfg);
  fs.rmSync(runDir, { recursive: true, force: true });
});

describe('local schema registry storage', () => {
  it('keeps schemas and their ids across a restart', async () => {
    const base = loadConfig();
    cfg = { ...base, runDir, registry: { ...base.registry, port: await freePort() } };
    const writer = await AvroRegistrySerde.create<{ a: string }>(await start(), 'rr-value', schema);
    const bytes = writer.serialize({ a: 'before the restart' });

    await down(running, cfg);
    running = [];
    const url = await start();

    // A reader in a new process, in effect: its own client, ids fetched on first sight.
    const reader = new AvroRegistrySerde<{ a: string }>({
      registry: new RegistryClient(url),
      subject: 'rr-value',
      autoRegister: false,
      schema,
      preloadVersions: false,
    });
    await reader.prepare();
    const id = reader.missingSchemaId(bytes);
    if (id !== undefined) await reader.ensureSchema(id);
    expect(reader.deserialize(bytes)).toEqual({ a: 'before the restart' });
    const next = await AvroRegistrySerde.create(url, 'rr2-value', other);
    expect(next.id).toBeGreaterThan(writer.id);
    expect(fs.readdirSync(registryDataDir(cfg))).toContain('registry.mv.db');
  }, 240_000);
});
