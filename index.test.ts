import { describe, expect, it } from 'vitest';

describe('the package entry points', () => {
  it('"millrace" and "millrace/testing" resolve to the public API, built-ins registered', async () => {
    const m = await import('millrace');
    const t = await import('millrace/testing');
    const b = new m.TopologyBuilder();
    b.stream('in', { key: 'string', value: 'string' })
      .groupByKey({ keySerde: 'string', valueSerde: 'string' })
      .count({ name: 'c' })
      .to('out', { key: 'string', value: 'json' });
    const driver = await t.TopologyTestDriver.create(b.build());
    await driver.input('in', { key: 'string', value: 'string' }).pipe('k', 'v');
    expect(
      driver
        .output('out', { key: 'string', value: 'json' })
        .readAll()
        .map((r) => r.value),
    ).toEqual([1]);
    await driver.close();
    expect(typeof m.StreamsApp).toBe('function');
    expect(m.processorRegistry.types()).toContain('vwap');
    expect(typeof m.defineProcessor).toBe('function');
    expect(m.DLQ_HEADERS.reason).toBe('millrace.reason');
    expect(
      new m.RecordProcessingError('processing_error', { task: '0_0', processor: 'p' }, 'x').code,
    ).toBe('PROCESSING_ERROR');
  });
});
