import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppStatus } from '../../runtime/admin/index.js';
import { table } from '../table.js';
import { formatStatus } from './status.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const millrace = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/millrace.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });

const status: AppStatus = {
  applicationId: 'clicks',
  groupState: 'Stable',
  protocol: 'MillraceTaskAssignor',
  members: [
    { memberId: 'clicks-a1-xyz', clientId: 'clicks-a1', host: '10.0.0.1', tasks: ['0_0', '1_0'] },
    { memberId: 'clicks-b2-xyz', clientId: 'clicks-b2', host: '10.0.0.2', tasks: [] },
  ],
  tasks: [
    { task: '0_0', owners: ['clicks-a1-xyz'] },
    { task: '1_0', owners: ['clicks-a1-xyz'] },
  ],
  partitions: [
    {
      topic: 'clicks',
      partition: 0,
      task: '0_0',
      owner: 'clicks-a1-xyz',
      committed: 120,
      end: 130,
      lag: 10,
    },
    {
      topic: 'clicks-by-user-repartition',
      partition: 0,
      task: '1_0',
      owner: null,
      committed: null,
      end: 4,
      lag: 4,
    },
  ],
  totalLag: 14,
  missingTopics: [],
  unavailableTopics: [],
  topics: [
    { topic: 'clicks', partitions: 1, replicationFactor: 3, leaderless: [], underReplicated: [] },
  ],
};

describe('formatStatus', () => {
  it('prints the group, the members with their tasks, and a row per source partition', () => {
    expect(formatStatus(status)).toBe(
      'application clicks: group Stable, 2 members (protocol MillraceTaskAssignor)\n' +
        '\n' +
        'MEMBER         CLIENT     HOST      TASKS\n' +
        'clicks-a1-xyz  clicks-a1  10.0.0.1  0_0,1_0\n' +
        'clicks-b2-xyz  clicks-b2  10.0.0.2  (none)\n' +
        '\n' +
        'TOPIC                       PARTITION  TASK  OWNER      COMMITTED  END  LAG\n' +
        'clicks                              0  0_0   clicks-a1        120  130   10\n' +
        'clicks-by-user-repartition          0  1_0   -                  -    4    4\n' +
        '\n' +
        'total lag: 14\n',
    );
  });

  it('adds the members’ standbys and query endpoints when any member has them', () => {
    const text = formatStatus({
      ...status,
      members: [
        { ...status.members[0]!, standbyTasks: ['0_1'], endpoint: '10.0.0.1:9464' },
        status.members[1]!,
      ],
    });
    expect(text).toContain(
      'MEMBER         CLIENT     HOST      TASKS    STANDBYS  QUERIES\n' +
        'clicks-a1-xyz  clicks-a1  10.0.0.1  0_0,1_0  0_1       10.0.0.1:9464\n' +
        'clicks-b2-xyz  clicks-b2  10.0.0.2  (none)   -         -\n',
    );
  });

  it('lists topics with leaderless or under-replicated partitions, and unreadable offsets', () => {
    const text = formatStatus({
      ...status,
      unavailableTopics: ['clicks'],
      topics: [
        {
          topic: 'clicks',
          partitions: 4,
          replicationFactor: 1,
          minInsyncReplicas: 1,
          leaderless: [1, 3],
          underReplicated: [1, 3],
        },
        {
          topic: 'clicks-store-changelog',
          partitions: 4,
          replicationFactor: 3,
          minInsyncReplicas: 2,
          leaderless: [],
          underReplicated: [0],
        },
        { topic: 'ok', partitions: 4, replicationFactor: 3, leaderless: [], underReplicated: [] },
      ],
    });
    expect(text).toContain('offsets unavailable (a partition has no leader): clicks\n');
    expect(text).toContain(
      table(
        ['TOPIC', 'RF', 'MIN ISR', 'LEADERLESS', 'UNDER-REPLICATED'],
        [
          ['clicks', 1, 1, '1,3', '1,3'],
          ['clicks-store-changelog', 3, 2, '-', '0'],
        ],
      ),
    );
    expect(text).not.toMatch(/^ok /m);
  });

  it('says so when the group has no members, and names missing inputs', () => {
    const text = formatStatus({
      ...status,
      groupState: 'Empty',
      members: [],
      missingTopics: ['views'],
    });
    expect(text).toMatch(/^application clicks: group Empty, no members\n/);
    expect(text).toContain('no active members: no instance is running\n');
    expect(text).toContain('input topic(s) missing: views\n');
    expect(text).toContain('COMMITTED');
    expect(text).not.toContain('MEMBER');
  });
});

describe('table', () => {
  it('pads columns and right-aligns numeric ones', () => {
    expect(
      table(
        ['A', 'N'],
        [
          ['x', 1],
          ['long', 100],
        ],
      ),
    ).toBe('A       N\nx       1\nlong  100\n');
    expect(table(['A'], [])).toBe('A\n');
  });
});

describe('millrace status (process)', () => {
  it('--help describes it', () => {
    const r = millrace('status', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('millrace status <topology.yaml | app.ts | app folder>');
    expect(r.stdout).toContain('--json');
  });

  it('exits 2 without an app and 3, naming the brokers and the fix, when Kafka is unreachable', () => {
    expect(millrace('status').status).toBe(2);
    const r = millrace('status', 'examples/topologies/word-count.yaml', '--brokers', '127.0.0.1:1');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot reach Kafka at 127\.0\.0\.1:1 .*npm run infra:up.*--brokers/);
  });
});
