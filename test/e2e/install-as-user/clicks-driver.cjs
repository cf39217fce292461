// A builder topology through the test driver, as a user's project runs it: plain node,
// millrace installed from its tarball. driver.mjs (import) and driver.cjs (require) hand
// it the package as each kind of module loads it; it prints what the topology wrote as one
// JSON line.
module.exports = async function runClicks({ TopologyBuilder, tumbling }, { TopologyTestDriver }) {
  const b = new TopologyBuilder('clicks-per-user');
  const byUser = b
    .stream('clicks', { key: 'string', value: 'json' }, 'clicks')
    .process('select-key-field', { name: 'by-user', options: { field: 'user' } })
    .groupByKey({ keySerde: 'string', valueSerde: 'json' });
  byUser
    .count({ name: 'count-total', store: 'clicks-total' })
    .to('clicks-per-user', { key: 'string', value: 'json' }, 'totals');
  byUser
    .windowedBy(tumbling(60_000, 10_000))
    .count({ name: 'count-minute', store: 'clicks-minute' })
    .to('clicks-per-user-minute', { key: 'string', value: 'json' }, 'per-minute');

  const driver = await TopologyTestDriver.create(b.build('clicks-per-user'));
  const clicks = driver.input('clicks');
  await clicks.pipe('c1', { user: 'ann', page: '/' }, { timestamp: 1_000 });
  await clicks.pipe('c2', { user: 'bob', page: '/a' }, { timestamp: 2_000 });
  await clicks.pipe('c3', { user: 'ann', page: '/b' }, { timestamp: 61_000 });
  await clicks.pipe('c4', { page: '/c' }, { timestamp: 62_000 });
  await clicks.pipe('c5', { user: 'bob', page: '/' }, { timestamp: 70_000 });
  const result = {
    totals: driver.output('clicks-per-user').readKeyValues(),
    perMinute: driver.output('clicks-per-user-minute').readKeyValues(),
    annInStore: driver.keyValueStore('clicks-total').get('ann'),
    deadLetters: driver.deadLetters().map((d) => d.headers['millrace.reason']),
  };
  await driver.close();
  console.log(JSON.stringify(result));
};
