/**
 * The example topologies of examples/topologies/: the builder and YAML versions of the
 * activity topology give the same spec, and both examples run in the test driver with the
 * results the docs pages show (docs/features/).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../processors/index.js';
import { activityTopology } from '../examples/topologies/activity.js';
import { ordersTopology } from '../examples/topologies/orders.js';
import { buildTopology, loadTopologyFile } from './index.js';
import { useDriver } from '../test/support/driver.js';

const examples = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../examples/topologies',
);
const J = { key: 'string', value: 'json' } as const;
const MINUTE = 60_000;

const start = useDriver();

describe('the activity example (windows)', () => {
  it('builder and YAML give the same spec, which builds', () => {
    const yaml = loadTopologyFile(path.join(examples, 'activity.yaml'));
    expect(activityTopology().spec()).toEqual(yaml);
    expect(buildTopology(yaml).subtopologies).toHaveLength(2);
  });

  it('gives visits, the last 10 minutes and hourly counts', async () => {
    const d = await start(activityTopology().build('activity'));
    const clicks = d.input('clicks', J);
    for (const minute of [0, 1, 2, 40, 41])
      await clicks.pipe(`c${minute}`, { user: 'ann', page: '/' }, { timestamp: minute * MINUTE });
    await clicks.pipe('c', { user: 'bob', page: '/' }, { timestamp: 200 * MINUTE }); // moves time on
    expect(d.output('visits', J).readKeyValues()).toEqual([
      ['ann', { window_start: 0, window_end: 2 * MINUTE, value: 3 }],
      ['ann', { window_start: 40 * MINUTE, window_end: 41 * MINUTE, value: 2 }],
    ]);
    const last10 = d.output<string, { value: number }>('clicks-last-10-min', J).readAll();
    expect(Math.max(...last10.map((r) => r.value.value))).toBe(3);
    const hourly = d.output<string, { window_start: number; value: number }>('clicks-hourly', J);
    // The hour's count after each click is 1, 2, 3, 4, 5; at most one a minute goes out, the
    // newest: 2 (minute 1), 4 (minute 40: 3 was held and replaced), 5 (when time moves on).
    expect(
      hourly
        .readKeyValues()
        .filter(([k]) => k === 'ann')
        .map(([, v]) => v.value),
    ).toEqual([2, 4, 5]);
  });
});

describe('the orders example (joins and a global table)', () => {
  it('enriches paid orders and reports unpaid ones once their window closed', async () => {
    const d = await start(ordersTopology().build('orders'));
    await d.input('products', J).pipe('sku-1', { name: 'pen' });
    await d.input('users', J).pipe('ann', { name: 'Ann' });
    await d.input('tiers', J).pipe('ann', { tier: 'gold' });
    const orders = d.input('orders', J);
    const payments = d.input('payments', J);
    await orders.pipe('o1', { user: 'ann', sku: 'sku-1', qty: 2 }, { timestamp: 0 });
    await orders.pipe('o2', { user: 'ann', sku: 'sku-1', qty: 1 }, { timestamp: MINUTE });
    await payments.pipe('o1', { amount: 9 }, { timestamp: 5 * MINUTE });
    expect(d.output('orders-paid', J).readKeyValues()).toEqual([
      [
        'ann',
        {
          user: 'ann',
          sku: 'sku-1',
          qty: 2,
          paid: 9,
          product: 'pen',
          customer: 'Ann',
          tier: 'gold',
        },
      ],
    ]);
    expect(d.output('orders-unpaid', J).isEmpty()).toBe(true);
    await payments.pipe('o9', { amount: 1 }, { timestamp: 20 * MINUTE }); // time goes on
    expect(d.output('orders-unpaid', J).readKeyValues()).toEqual([
      ['o2', { user: 'ann', sku: 'sku-1', qty: 1 }],
    ]);
  });
});

describe('the YAML examples of joins and a global table', () => {
  it('joins.yaml: an outer stream-stream join and a left table-table join, values side by side', async () => {
    const t = buildTopology(loadTopologyFile(path.join(examples, 'joins.yaml')));
    const d = await start(t);
    await d.input('orders', J).pipe('o1', { amount: 5 }, { timestamp: 0 });
    await d.input('payments', J).pipe('o1', { paid: 5 }, { timestamp: MINUTE });
    await d.input('payments', J).pipe('o7', { paid: 1 }, { timestamp: 2 * MINUTE });
    expect(d.output('orders-paid', J).readKeyValues()).toEqual([
      ['o1', { left: { amount: 5 }, right: { paid: 5 } }],
    ]);
    await d.input('payments', J).pipe('zz', { paid: 0 }, { timestamp: 60 * MINUTE });
    expect(d.output('orders-paid', J).readKeyValues()).toEqual([
      ['o7', { left: null, right: { paid: 1 } }],
    ]);
    await d.input('users', J).pipe('ann', { name: 'Ann' });
    await d.input('tiers', J).pipe('ann', 'gold');
    expect(d.output('profiles', J).readKeyValues()).toEqual([
      ['ann', { left: { name: 'Ann' }, right: null }],
      ['ann', { left: { name: 'Ann' }, right: 'gold' }],
    ]);
  });

  it('global-table.yaml: orders joined with the product their sku names', async () => {
    const t = buildTopology(loadTopologyFile(path.join(examples, 'global-table.yaml')));
    expect(t.globals.map((g) => g.store)).toEqual(['products']);
    const d = await start(t);
    await d.input('products', J).pipe('sku-1', { name: 'pen' });
    await d.input('orders', J).pipe('o1', { sku: 'sku-1' });
    await d.input('orders', J).pipe('o2', { sku: 'sku-2' });
    expect(d.output('order-lines', J).readKeyValues()).toEqual([
      ['o1', { left: { sku: 'sku-1' }, right: { name: 'pen' } }],
      ['o2', { left: { sku: 'sku-2' }, right: null }],
    ]);
  });
});
