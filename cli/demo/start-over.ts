/**
 * When the registry has lost schemas that Kafka's log still refers to (its data folder was
 * removed, it is an in-memory registry that was restarted, or another registry answers on
 * its port), the demo's topics hold records whose schema ids it no longer knows, and every
 * reader of them would stop. The demo owns those topics, so it starts over: it deletes
 * them, its app's internal topics, consumer groups and local state, and moves its DuckDB
 * file aside (nothing of the user's is deleted).
 */
import fs from 'node:fs';
import { tailTopics } from '../../connectors/kafka/tail.js';
import { appTopics, waitUntilGone, withAdmin } from '../../runtime/admin/index.js';
import { TOPICS, topology } from '../../apps/finnhub-vwap/app.js';

type Admin = Parameters<Parameters<typeof withAdmin>[2]>[0];

/** How long the check waits for the first record of each topic. */
const FIRST_RECORD_WAIT_MS = 15_000;

export interface DemoStore {
  kafkaBrokers: string[];
  registryUrl: string;
  appId: string;
  sinkGroup: string;
  duckdb: string;
  stateDirs: string[];
}

/** Deletes the demo's topics, groups and state when the registry lost their schemas. */
export async function startOverIfStale(d: DemoStore, note: (s: string) => void): Promise<void> {
  const stale = await withAdmin(d.kafkaBrokers, 'millrace-demo', (admin) =>
    deleteIfStale(admin, d, note),
  );
  if (!stale) return;
  for (const dir of d.stateDirs) fs.rmSync(dir, { recursive: true, force: true });
  if (fs.existsSync(d.duckdb)) {
    const aside = `${d.duckdb}.stale-${Date.now()}`;
    fs.renameSync(d.duckdb, aside);
    note(`moved ${d.duckdb} (offsets of the deleted topics) aside to ${aside}`);
  }
}

async function deleteIfStale(admin: Admin, d: DemoStore, note: (s: string) => void) {
  const existing = new Set(await admin.listTopics());
  const withRecords: string[] = [];
  for (const t of [TOPICS.raw, TOPICS.clean, TOPICS.vwap].filter((x) => existing.has(x))) {
    const offsets = await admin.fetchTopicOffsets(t);
    if (offsets.some((p) => Number(p.high) > Number(p.low))) withRecords.push(t);
  }
  if (!withRecords.length) return false;
  const unknown = await unknownSchema(d, withRecords);
  if (!unknown) return false;
  note(
    `${unknown} holds records the registry does not know (it has lost the schemas they were written with): starting the demo over`,
  );
  const mine = [...Object.values(TOPICS), ...appTopics(topology(), d.appId).internalTopics];
  const present = mine.filter((t) => existing.has(t));
  await admin.deleteTopics({ topics: present });
  await waitUntilGone(admin, present, note);
  await admin.deleteGroups([d.appId, d.sinkGroup]).catch(() => {});
  return true;
}

/**
 * The first topic of `topics` whose first record (Confluent framing: 0, then the schema id)
 * names a schema the registry does not know, as "topic (schema id N)"; undefined if none.
 */
async function unknownSchema(
  d: { kafkaBrokers: string[]; registryUrl: string },
  topics: string[],
): Promise<string | undefined> {
  const ids = await firstSchemaIds(d.kafkaBrokers, topics);
  for (const [topic, id] of ids) {
    const res = await fetch(`${d.registryUrl}/schemas/ids/${id}`, {
      signal: AbortSignal.timeout(5000),
    });
    if (res.status === 404) return `${topic} (schema id ${id})`;
  }
  return undefined;
}

/** The schema id of each topic's first record (those read within the wait). */
async function firstSchemaIds(brokers: string[], topics: string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const stopTail = await tailTopics({
    brokers,
    topics,
    clientId: 'millrace-demo-check',
    onRecord: (r) => {
      if (!ids.has(r.topic) && r.value && r.value.length >= 5 && r.value[0] === 0)
        ids.set(r.topic, r.value.readInt32BE(1));
    },
  });
  const deadline = Date.now() + FIRST_RECORD_WAIT_MS;
  while (ids.size < topics.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  await stopTail();
  return ids;
}
