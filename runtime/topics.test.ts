import { describe, expect, it } from 'vitest';
import { StreamsError } from './errors.js';
import { checkCopartitioned, configDrift, requireTopics } from './topics.js';

describe('start-up topic checks', () => {
  it('accepts co-partitioned sources and returns their partition count', () => {
    expect(
      checkCopartitioned(
        0,
        ['orders', 'payments'],
        new Map([
          ['orders', 8],
          ['payments', 8],
        ]),
      ),
    ).toBe(8);
  });

  it('refuses sources of one sub-topology with different partition counts, naming them and the fix', () => {
    const run = () =>
      checkCopartitioned(
        2,
        ['orders', 'payments'],
        new Map([
          ['orders', 8],
          ['payments', 4],
        ]),
      );
    expect(run).toThrow(StreamsError);
    expect(run).toThrow(
      /sub-topology 2 reads topics that are not co-partitioned \(orders=8, payments=4\).*repartition one side or create the topics with equal partition counts/,
    );
  });

  it('lists every missing source topic and how to create it', () => {
    expect(() => requireTopics('source', ['a', 'b', 'c'], new Map([['b', 1]]))).toThrow(
      /source topic\(s\) a, c do not exist; create them first/,
    );
  });

  it('lists every missing output topic and how to create it', () => {
    expect(() => requireTopics('output', ['out', 'late'], new Map([['out', 4]]))).toThrow(
      /output topic\(s\) late do not exist; create them first/,
    );
    expect(() => requireTopics('output', ['out'], new Map([['out', 4]]))).not.toThrow();
  });
});

describe('internal topics made otherwise', () => {
  it('names each config that differs from what millrace creates the topic with', () => {
    const want = { 'cleanup.policy': 'delete', 'retention.ms': '-1' };
    const have = new Map([
      ['cleanup.policy', 'delete'],
      ['retention.ms', '604800000'],
    ]);
    expect(configDrift('app-by-user-repartition', want, have)).toEqual([
      { topic: 'app-by-user-repartition', name: 'retention.ms', want: '-1', have: '604800000' },
    ]);
    expect(configDrift('t', want, new Map(Object.entries(want)))).toEqual([]);
    expect(configDrift('t', { 'cleanup.policy': 'compact' }, new Map())).toEqual([
      { topic: 't', name: 'cleanup.policy', want: 'compact', have: undefined },
    ]);
  });
});
