import { describe, expect, it } from 'vitest';
import { TopologyBuilder } from '../../topology/index.js';
import '../../processors/index.js';
import { appTopics, looksInternal } from './app-topics.js';
import { appStateDir, planReset, type ResetInput } from './reset.js';

function clicks() {
  const b = new TopologyBuilder('clicks');
  b.stream('clicks', { key: 'string', value: 'json' })
    .selectKey((r: any) => r.value.user)
    .groupByKey({ keySerde: 'string', valueSerde: 'json' })
    .count({ name: 'total' })
    .to('totals', { key: 'string', value: 'json' });
  return b.build();
}

const app = appTopics(clicks(), 'clicks');

function input(over: Partial<ResetInput> = {}): ResetInput {
  return {
    app,
    target: { kind: 'earliest' },
    members: [],
    existingTopics: [
      'clicks',
      'totals',
      'clicks-dlq',
      ...app.internalTopics,
      'clicks-old-store-changelog',
      'clicks-v2-total-changelog',
      'other-total-changelog',
    ],
    current: new Map([
      [
        'clicks',
        [
          { partition: 0, low: 0, high: 9, committed: 9 },
          { partition: 1, low: 3, high: 7, committed: null },
        ],
      ],
    ]),
    targets: new Map([
      [
        'clicks',
        [
          { partition: 1, offset: 3 },
          { partition: 0, offset: 0 },
        ],
      ],
    ]),
    stateDir: '/var/lib/millrace',
    stateDirExists: true,
    ...over,
  };
}

describe('the topics of an app', () => {
  it('inputs are the external sources; internal ones are its changelogs and repartition topics', () => {
    expect(app.inputTopics).toEqual(['clicks']);
    expect(app.internalTopics.length).toBe(2);
    expect(app.internalTopics.every((t) => looksInternal(t, 'clicks'))).toBe(true);
    expect(app.internalTopics.some((t) => t.endsWith('-repartition'))).toBe(true);
    expect(app.internalTopics).toContain('clicks-total-store-changelog');
  });

  it('looksInternal wants the app id as prefix and a -changelog/-repartition suffix', () => {
    expect(looksInternal('clicks-x-changelog', 'clicks')).toBe(true);
    expect(looksInternal('clicks-changelog', 'clicks')).toBe(false);
    expect(looksInternal('clicks-x-repartition', 'click')).toBe(false);
    expect(looksInternal('a.b-x-changelog', 'a.b')).toBe(true);
    expect(looksInternal('aXb-x-changelog', 'a.b')).toBe(false); // `.` is not a wildcard
    expect(looksInternal('clicks-dlq', 'clicks')).toBe(false);
  });
});

describe('planReset', () => {
  it('rewinds every input partition, deletes only the declared internal topics, removes the app state', () => {
    const p = planReset(input());
    expect(p.offsets).toEqual([
      { topic: 'clicks', partition: 0, from: 9, to: 0 },
      { topic: 'clicks', partition: 1, from: null, to: 3 },
    ]);
    expect(p.deleteTopics).toEqual([...app.internalTopics].sort());
    expect(p.deleteTopics).not.toContain('totals');
    expect(p.deleteTopics).not.toContain('clicks-dlq');
    // Look-alikes are named, never deleted: clicks-v2-… may be another app's.
    expect(p.keptTopics).toEqual(['clicks-old-store-changelog', 'clicks-v2-total-changelog']);
    expect(p.removeStateDir).toBe('/var/lib/millrace/clicks');
    expect(p.missingInputs).toEqual([]);
  });

  it('skips what is not there', () => {
    const p = planReset(
      input({
        existingTopics: ['totals'],
        current: new Map(),
        targets: new Map(),
        stateDirExists: false,
      }),
    );
    expect(p.offsets).toEqual([]);
    expect(p.deleteTopics).toEqual([]);
    expect(p.missingInputs).toEqual(['clicks']);
    expect(p.removeStateDir).toBeNull();
  });

  it('refuses while the group has members, naming them and the fix', () => {
    const members = [
      { memberId: 'clicks-1-abc', clientId: 'clicks-1', host: '10.1.2.3', assignment: {} },
    ];
    let err: any;
    try {
      planReset(input({ members }));
    } catch (e) {
      err = e;
    }
    expect(err?.domain).toBe('user');
    expect(err?.code).toBe('GROUP_ACTIVE');
    expect(err?.message).toMatch(
      /1 active member\(s\).*clicks-1@10\.1\.2\.3 \(member clicks-1-abc\).*stop every instance/,
    );
  });

  it('never escapes the state dir', () => {
    expect(appStateDir('/s', 'app.v2')).toBe('/s/app.v2');
    expect(() => appStateDir('/s', '..')).toThrow(/not an application id/);
    expect(() => appStateDir('/s', 'a/b')).toThrow(/not an application id/);
  });
});
