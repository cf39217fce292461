/**
 * `npm run smoke`: brings the local stack up if it is not (downloads on first use),
 * then runs the smoke pipeline against it. The stack stays up; `npm run infra:down` stops it.
 */
import { runSmoke } from '../../connectors/kafka/smoke.js';
import { endpoints, loadConfig } from './config.js';
import { up } from './infra.js';

const cfg = loadConfig();
try {
  await up({ progress: (l) => console.log(`infra: ${l}`) }, cfg);
  const { kafkaBrokers } = endpoints(cfg);
  const t0 = Date.now();
  const r = await runSmoke(kafkaBrokers);
  for (const m of r.consumed)
    console.log(`  ${r.topic}[${m.partition}]@${m.offset}  ${m.key}  ${m.value}`);
  console.log(
    `smoke: produced ${r.produced} records in one transaction and read ${r.consumed.length} back read_committed in ${Date.now() - t0} ms`,
  );
} catch (err) {
  console.error(`smoke: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 3;
}
