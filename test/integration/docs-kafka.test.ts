/**
 * The ts blocks of README.md and docs/**.md marked `<!-- docs-test: kafka; topics: … -->`,
 * run against the test's broker: their source and output topics created first (those that
 * are absent: blocks share topic names, and a topic deleted and created again at once is
 * not always served), `localhost:9092` replaced by the broker's address; at the end, those
 * topics and the apps' internal ones (`<applicationId>-…`) are deleted. The other blocks run in the unit layer
 * (docs/code-blocks.test.ts), which also type-checks these.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { blocksOf, markdownFiles, programsOf, repoRoot } from '../support/doc-blocks.js';
import { createTopics } from '../support/kafka-helpers.js';

const out = path.join(repoRoot, 'test-artifacts', 'docs-kafka');
let kafka: Kafka;

const programs = markdownFiles().flatMap((f) => programsOf(blocksOf(f)).filter((p) => p.kafka));
const sources = new Map(
  programs.map((p) => [
    p,
    p.source.replace(/(localhost|127\.0\.0\.1):9092/g, inject('kafkaBrokers')[0]!),
  ]),
);
const appIds = [...sources.values()].flatMap((s) => /applicationId: '([^']+)'/.exec(s)?.[1] ?? []);
const topics = [...new Set(programs.flatMap((p) => p.kafka!.topics))];

beforeAll(async () => {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'docs-kafka' });
  const admin = kafka.admin();
  await admin.connect();
  const present = await admin.listTopics().finally(() => admin.disconnect());
  const absent = topics.filter((t) => !present.includes(t));
  await createTopics(
    kafka,
    absent.map((topic) => ({ topic, partitions: 2 })),
  );
});
afterAll(async () => {
  fs.rmSync(out, { recursive: true, force: true });
  await deleteTopics(topics, appIds);
});

/** Deletes `topics` and every topic of the apps `appIds` (`<appId>-…`) that exist. */
async function deleteTopics(topics: string[], appIds: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const all = await admin.listTopics();
    const mine = all.filter(
      (t) => topics.includes(t) || appIds.some((id) => t.startsWith(`${id}-`)),
    );
    if (mine.length) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}

describe('docs blocks that run on Kafka', () => {
  it('finds some (the README and the tutorial have one each)', () => {
    if (programs.length < 2) throw new Error(`only ${programs.length} kafka blocks found`);
  });

  for (const p of programs)
    it(`ts program at ${p.at}`, async () => {
      const file = path.join(out, `${p.at.replace(/[/.:]/g, '_')}.ts`);
      fs.writeFileSync(file, sources.get(p)!);
      await import(pathToFileURL(file).href);
    }, 180_000);
});
