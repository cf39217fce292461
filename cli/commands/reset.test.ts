import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResetPlan } from '../../runtime/admin/index.js';
import { formatPlan, resetTarget } from './reset.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const millrace = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/millrace.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });

const plan: ResetPlan = {
  applicationId: 'clicks',
  target: { kind: 'earliest' },
  offsets: [
    { topic: 'clicks', partition: 0, from: 9, to: 0 },
    { topic: 'clicks', partition: 1, from: null, to: 3 },
  ],
  deleteTopics: ['clicks-by-user-repartition', 'clicks-total-changelog'],
  keptTopics: ['clicks-v2-total-changelog'],
  missingInputs: [],
  removeStateDir: '/var/lib/millrace/clicks',
};

describe('formatPlan', () => {
  it('a dry run says what would happen and that nothing changed', () => {
    expect(formatPlan(plan, true)).toBe(
      'dry run: reset of application clicks would do the following (nothing was changed)\n' +
        'commit 2 offset(s) on 1 input topic(s) to earliest:\n' +
        '  clicks [0]: 9 → 0\n' +
        '  clicks [1]: none → 3\n' +
        'delete 2 internal topic(s):\n' +
        '  clicks-by-user-repartition\n' +
        '  clicks-total-changelog\n' +
        "left alone (named like this app's internal topics, but not declared by its topology; delete them by hand if they are its): clicks-v2-total-changelog\n" +
        'remove local state /var/lib/millrace/clicks\n',
    );
  });

  it('after a reset it says what was done', () => {
    const text = formatPlan(
      {
        ...plan,
        target: { kind: 'timestamp', timestamp: 0 },
        keptTopics: [],
        removeStateDir: null,
      },
      false,
    );
    expect(text).toMatch(/^reset of application clicks done\n/);
    expect(text).toContain(
      'committed 2 offset(s) on 1 input topic(s) to the first record at or after 1970-01-01T00:00:00.000Z (0):',
    );
    expect(text).toContain('deleted 2 internal topic(s):');
    expect(text).toContain('no local state to remove');
  });
});

describe('resetTarget', () => {
  it('earliest by default; a timestamp from --to-timestamp or --to-datetime', () => {
    expect(resetTarget({})).toEqual({ kind: 'earliest' });
    expect(resetTarget({ 'to-timestamp': '1764057600000' })).toEqual({
      kind: 'timestamp',
      timestamp: 1764057600000,
    });
    expect(resetTarget({ 'to-datetime': '2025-11-25T08:00:00Z' })).toEqual({
      kind: 'timestamp',
      timestamp: 1764057600000,
    });
    expect(resetTarget({ 'to-datetime': '2025-11-25T09:00:00+01:00' })).toEqual({
      kind: 'timestamp',
      timestamp: 1764057600000,
    });
  });

  it('rejects bad or conflicting values with the fix', () => {
    expect(() => resetTarget({ 'to-timestamp': 'yesterday' })).toThrow(/not epoch milliseconds/);
    expect(() => resetTarget({ 'to-datetime': 'tomorrow' })).toThrow(
      /not an ISO date-time; write e\.g\./,
    );
    expect(() => resetTarget({ 'to-datetime': '2025-13-45T00:00:00Z' })).toThrow(
      /not an ISO date-time/,
    );
    expect(() => resetTarget({ 'to-datetime': '2025-11-25', 'to-timestamp': '1' })).toThrow(
      /not both/,
    );
  });
});

describe('millrace reset (process)', () => {
  it('--help describes it', () => {
    const r = millrace('reset', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('millrace reset <topology.yaml | app.ts | app folder>');
    expect(r.stdout).toMatch(/--dry-run/);
    expect(r.stdout).toMatch(/--to-datetime/);
  });

  it('exits 2 on bad flags and 3 when Kafka is unreachable', () => {
    const bad = millrace('reset', 'examples/topologies/word-count.yaml', '--to-timestamp', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--to-timestamp/);
    const r = millrace(
      'reset',
      'examples/topologies/word-count.yaml',
      '--brokers',
      '127.0.0.1:1',
      '--dry-run',
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot reach Kafka at 127\.0\.0\.1:1/);
  });
});
