/**
 * The "test your topology" example of docs/write-your-first-topology.md, verbatim in
 * substance: if this fails, fix the document too.
 */
import { expect, it } from 'vitest';
import { clicksTopology } from '../../examples/topologies/clicks.js';
import '../../processors/index.js';
import { TopologyTestDriver } from './driver.js';

it('the documented clicks example gives the documented results', async () => {
  const driver = await TopologyTestDriver.create(clicksTopology().build('clicks-per-user'));
  const clicks = driver.input('clicks');
  const totals = driver.output('clicks-per-user');
  const perMinute = driver.output('clicks-per-user-minute');

  await clicks.pipe('c1', { user: 'ann', page: '/' }, { timestamp: 1_000 });
  await clicks.pipe('c2', { user: 'bob', page: '/a' }, { timestamp: 2_000 });
  await clicks.pipe('c3', { user: 'ann', page: '/b' }, { timestamp: 61_000 });
  await clicks.pipe('c4', { page: '/c' }, { timestamp: 62_000 });
  expect(totals.readKeyValues()).toEqual([
    ['ann', 1],
    ['bob', 1],
    ['ann', 2],
  ]);
  expect(driver.keyValueStore('clicks-total').get('ann')).toBe(2);
  expect(perMinute.readKeyValues()).toEqual([]);

  await clicks.pipe('c5', { user: 'bob', page: '/' }, { timestamp: 70_000 });
  expect(perMinute.readKeyValues()).toEqual([
    ['ann', { window_start: 0, window_end: 60_000, value: 1 }],
    ['bob', { window_start: 0, window_end: 60_000, value: 1 }],
  ]);
  expect(driver.deadLetters().map((d) => d.headers['millrace.reason'])).toEqual([
    'missing_field_user',
  ]);
  expect(await driver.commit()).toEqual(
    new Map([
      ['clicks-total', 2],
      ['clicks-minute', 4],
    ]),
  );
  await driver.close();
});
