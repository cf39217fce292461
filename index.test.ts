import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the package entry points', () => {
  it('"millrace" and "millrace/testing" are index.ts and testing.ts, built into dist/', () => {
    // The built package itself is installed and used in test/e2e/install-as-user.test.ts.
    const pkg = JSON.parse(fs.readFileSync(new URL('package.json', import.meta.url), 'utf8'));
    // `default` beside `import`: require() of the ES modules (Node >= 20.19) resolves too.
    expect(pkg.exports['.']).toEqual({
      types: './dist/index.d.ts',
      import: './dist/index.js',
      default: './dist/index.js',
    });
    expect(pkg.exports['./testing']).toEqual({
      types: './dist/testing.d.ts',
      import: './dist/testing.js',
      default: './dist/testing.js',
    });
    for (const f of ['index.ts', 'testing.ts'])
      expect(fs.existsSync(new URL(f, import.meta.url))).toBe(true);
  });

  it('give the public API, built-ins registered', async () => {
    const m = await import('./index.js');
    const t = await import('./testing.js');
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
