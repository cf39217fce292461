import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { buildStatus, decodeMembers, type StatusInput } from './status.js';

const sources = new Map([
  [0, ['in']],
  [1, ['app-by-user-repartition']],
]);

function input(over: Partial<StatusInput> = {}): StatusInput {
  return {
    applicationId: 'app',
    groupState: 'Stable',
    protocol: 'MillraceTaskAssignor',
    members: [
      {
        memberId: 'm-a',
        clientId: 'app-a',
        host: '10.0.0.1',
        assignment: { in: [0], 'app-by-user-repartition': [1] },
      },
      {
        memberId: 'm-b',
        clientId: 'app-b',
        host: '10.0.0.2',
        assignment: { in: [1], 'app-by-user-repartition': [0] },
      },
    ],
    sourcesBySubtopology: sources,
    inputTopics: ['in'],
    offsets: new Map([
      [
        'in',
        [
          { partition: 1, low: 0, high: 50, committed: 20 },
          { partition: 0, low: 0, high: 40, committed: 40 },
        ],
      ],
      [
        'app-by-user-repartition',
        [
          { partition: 0, low: 5, high: 12, committed: null },
          { partition: 1, low: 0, high: 0, committed: null },
        ],
      ],
    ]),
    ...over,
  };
}

describe('buildStatus', () => {
  it("derives each member's tasks from its partitions and each task's owner", () => {
    const s = buildStatus(input());
    expect(s.members.map((m) => [m.clientId, m.tasks])).toEqual([
      ['app-a', ['0_0', '1_1']],
      ['app-b', ['0_1', '1_0']],
    ]);
    expect(s.tasks).toEqual([
      { task: '0_0', owners: ['m-a'] },
      { task: '0_1', owners: ['m-b'] },
      { task: '1_0', owners: ['m-b'] },
      { task: '1_1', owners: ['m-a'] },
    ]);
  });

  it('computes lag per partition: end − committed, or end − log start when nothing is committed', () => {
    const s = buildStatus(input());
    expect(
      s.partitions.map((p) => [p.topic, p.partition, p.task, p.owner, p.committed, p.end, p.lag]),
    ).toEqual([
      ['in', 0, '0_0', 'm-a', 40, 40, 0],
      ['in', 1, '0_1', 'm-b', 20, 50, 30],
      ['app-by-user-repartition', 0, '1_0', 'm-b', null, 12, 7],
      ['app-by-user-repartition', 1, '1_1', 'm-a', null, 0, 0],
    ]);
    expect(s.totalLag).toBe(37);
  });

  it('without members: no owners, offsets and lag still there', () => {
    const s = buildStatus(input({ members: [], groupState: 'Empty' }));
    expect(s.members).toEqual([]);
    expect(s.tasks.every((t) => t.owners.length === 0)).toBe(true);
    expect(s.partitions.every((p) => p.owner === null)).toBe(true);
    expect(s.totalLag).toBe(37);
  });

  it('shows a task claimed by two members (so a caller can see the fault)', () => {
    const members = input().members.map((m) => ({ ...m, assignment: { in: [0] } }));
    expect(buildStatus(input({ members })).tasks[0]).toEqual({
      task: '0_0',
      owners: ['m-a', 'm-b'],
    });
  });

  it('names missing input topics, not the repartition topics the app creates on start', () => {
    const s = buildStatus(input({ offsets: new Map() }));
    expect(s.missingTopics).toEqual(['in']);
    expect(s.partitions).toEqual([]);
  });
});

describe('decodeMembers', () => {
  it('decodes the consumer-protocol assignment kafkajs returns, and tolerates an empty one', () => {
    const assignment = AssignerProtocol.MemberAssignment.encode({
      version: 1,
      assignment: { in: [2, 3] },
      userData: Buffer.from('{"tasks":["0_2","0_3"]}'),
    });
    const members = decodeMembers({
      groupId: 'app',
      protocol: 'MillraceTaskAssignor',
      protocolType: 'consumer',
      state: 'Stable',
      members: [
        {
          memberId: 'm1',
          clientId: 'c1',
          clientHost: '/127.0.0.1',
          memberAssignment: assignment,
          memberMetadata: Buffer.alloc(0),
        },
        {
          memberId: 'm2',
          clientId: 'c2',
          clientHost: '/127.0.0.1',
          memberAssignment: Buffer.alloc(0),
          memberMetadata: Buffer.alloc(0),
        },
      ],
    });
    expect(members).toEqual([
      { memberId: 'm1', clientId: 'c1', host: '127.0.0.1', assignment: { in: [2, 3] } },
      { memberId: 'm2', clientId: 'c2', host: '127.0.0.1', assignment: {} },
    ]);
  });
  it('reads each member’s standbys and query endpoint from the millrace assignment’s userData', () => {
    const members = [
      { memberId: 'm1', endpoint: 'h1:9464', client: 'c', active: ['0_0'], standby: ['0_1'] },
      { memberId: 'm2', endpoint: null, client: 'd', active: ['0_1'], standby: ['0_0'] },
    ];
    const assigned = (tasks: number[], standbyTasks: string[]) =>
      AssignerProtocol.MemberAssignment.encode({
        version: 1,
        assignment: { in: tasks },
        userData: Buffer.from(
          JSON.stringify({ version: 2, tasks: tasks.map((p) => `0_${p}`), standbyTasks, members }),
        ),
      });
    const member = (memberId: string, a: Buffer) => ({
      memberId,
      clientId: memberId,
      clientHost: '/127.0.0.1',
      memberAssignment: a,
      memberMetadata: Buffer.alloc(0),
    });
    const decoded = decodeMembers({
      groupId: 'app',
      protocol: 'MillraceTaskAssignor',
      protocolType: 'consumer',
      state: 'Stable',
      members: [member('m1', assigned([0], ['0_1'])), member('m2', assigned([1], ['0_0']))],
    });
    expect(decoded.map((m) => [m.memberId, m.standbyTasks, m.endpoint])).toEqual([
      ['m1', ['0_1'], 'h1:9464'],
      ['m2', ['0_0'], undefined],
    ]);
    const status = buildStatus(input({ members: decoded }));
    expect(status.members.map((m) => [m.memberId, m.tasks, m.standbyTasks, m.endpoint])).toEqual([
      ['m1', ['0_0'], ['0_1'], 'h1:9464'],
      ['m2', ['0_1'], ['0_0'], undefined],
    ]);
    expect(status.tasks.filter((t) => t.task.startsWith('0_'))).toEqual([
      { task: '0_0', owners: ['m1'], standbys: ['m2'] },
      { task: '0_1', owners: ['m2'], standbys: ['m1'] },
    ]);
  });
});
