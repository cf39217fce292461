/**
 * The README and docs/pipeline.md show docs/img/finnhub-vwap.png (and .svg): they must be what
 * `millrace diagram apps/finnhub-vwap --format svg` draws from the topology today.
 * Regenerate: npx millrace diagram apps/finnhub-vwap --format svg --out docs/img/finnhub-vwap.svg
 * (and --format png --out docs/img/finnhub-vwap.png).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { toSvg } from '../../topology/index.js';
import { applicationId, topology } from './app.js';

const img = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/img');

it('the committed diagram is the topology as it is', async () => {
  const svg = await toSvg(topology(), applicationId);
  expect(fs.readFileSync(path.join(img, 'finnhub-vwap.svg'), 'utf8')).toBe(svg);
});
