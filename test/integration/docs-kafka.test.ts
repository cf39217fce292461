/**
 * The ts blocks of README.md and docs/**.md marked `<!-- docs-test: kafka; topics: … -->`,
 * run against the test's broker: their source and output topics created first,
 * `localhost:9092` replaced by the broker's address, and afterwards those topics and the
 * app's internal ones (`<applicationId>-…`) deleted. The other blocks run in the unit layer
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

beforeAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'docs-kafka' });
});
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

/** Deletes `topics` and every topic of the app `appId` (`<appId>-…`) that exist, and waits until they are gone. */
async function deleteTopics(topics: string[], appId: string | undefined): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const all = await admin.listTopics();
    const mine = all.filter(
      (t) => topics.includes(t) || (appId !== undefined && t.startsWith(`${appId}-`)),
    );
    if (!mine.length) return;
    await admin.deleteTopics({ topics: mine });
    // Deletion finishes in the background; a topic created again before it is gone is not
    // served ("does not host this topic-partition").
    const deadline = Date.now() + 60_000;
    while ((await admin.listTopics()).some((t) => mine.includes(t))) {
      if (Date.now() > deadline) throw new Error(`topics still there: ${mine.join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

const programs = markdownFiles().flatMap((f) => programsOf(blocksOf(f)).filter((p) => p.kafka));

describe('docs blocks that run on Kafka', () => {
  it('finds some (the README and the tutorial have one each)', () => {
    if (programs.length < 2) throw new Error(`only ${programs.length} kafka blocks found`);
  });

  for (const p of programs)
    it(`ts program at ${p.at}`, async () => {
      const broker = inject('kafkaBrokers')[0]!;
      const source = p.source.replace(/(localhost|127\.0\.0\.1):9092/g, broker);
      const appId = /applicationId: '([^']+)'/.exec(source)?.[1];
      const topics = p.kafka!.topics;
      await deleteTopics(topics, appId);
      await createTopics(
        kafka,
        topics.map((topic) => ({ topic, partitions: 2 })),
      );
      const file = path.join(out, `${p.at.replace(/[/.:]/g, '_')}.ts`);
      fs.writeFileSync(file, source);
      try {
        await import(pathToFileURL(file).href);
      } finally {
        await deleteTopics(topics, appId);
      }
    }, 180_000);
});
