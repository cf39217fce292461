import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  decodeAssignmentUserData,
  decodeMemberUserData,
  encodeMemberUserData,
} from './group-protocol.js';
import { taskAssignor, type TaskLayout } from './kafka-assignor.js';

const layout: TaskLayout = {
  sourcesBySubtopology: new Map([[0, ['in']]]),
  partitionsBySubtopology: new Map([[0, 4]]),
  partitionCount: () => 4,
};

/** A member's subscription as kafkajs hands it to the leader. */
const member = (memberId: string, userData: Buffer) => ({
  memberId,
  memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ['in'], userData }),
});

async function assign(members: Array<{ memberId: string; memberMetadata: Buffer }>, standbys = 1) {
  const assigner = taskAssignor(
    () => layout,
    () => [],
    { numStandbyReplicas: standbys },
  )({} as never);
  const out = await assigner.assign({ members, topics: ['in'] });
  return new Map(
    out.map((a) => {
      const d = AssignerProtocol.MemberAssignment.decode(a.memberAssignment)!;
      return [a.memberId, { partitions: d.assignment, data: decodeAssignmentUserData(d.userData) }];
    }),
  );
}

describe('group protocol', () => {
  it('reads what it writes, and tolerates members that send less or garbage', () => {
    const d = {
      previousTasks: ['0_1'],
      client: 'h:1',
      endpoint: '127.0.0.1:9464',
      standbyTasks: ['0_2'],
      taskLags: { '0_2': 7 },
    };
    expect(decodeMemberUserData(encodeMemberUserData(d))).toEqual(d);
    // an older millrace sends only its previous tasks
    expect(decodeMemberUserData(Buffer.from('{"previousTasks":["0_3"]}'))).toEqual({
      previousTasks: ['0_3'],
    });
    for (const junk of [null, Buffer.alloc(0), Buffer.from('not json'), Buffer.from('[1]')])
      expect(decodeMemberUserData(junk)).toEqual({ previousTasks: [] });
    expect(
      decodeMemberUserData(
        Buffer.from('{"previousTasks":[1,"0_1"],"taskLags":{"0_1":-3,"0_2":"x"}}'),
      ),
    ).toEqual({ previousTasks: ['0_1'] });
    // a leader of an older millrace sends only `tasks`
    expect(decodeAssignmentUserData(Buffer.from('{"tasks":["0_0"]}'))).toEqual({
      tasks: ['0_0'],
      standbyTasks: [],
      members: [],
    });
  });

  it('hands every member its tasks, its standbys and every member’s endpoint with its tasks', async () => {
    const r = await assign([
      member('m-a', encodeMemberUserData({ previousTasks: [], client: 'a', endpoint: 'a:1' })),
      member('m-b', encodeMemberUserData({ previousTasks: [], client: 'b', endpoint: 'b:2' })),
    ]);
    const a = r.get('m-a')!;
    const b = r.get('m-b')!;
    expect([...a.data.tasks, ...b.data.tasks].sort()).toEqual(['0_0', '0_1', '0_2', '0_3']);
    expect(a.partitions).toEqual({ in: a.data.tasks.map((t) => Number(t.split('_')[1])) });
    expect(a.data.standbyTasks).toEqual(b.data.tasks);
    expect(b.data.standbyTasks).toEqual(a.data.tasks);
    expect(a.data.members).toEqual(b.data.members);
    expect(a.data.members).toEqual([
      {
        memberId: 'm-a',
        endpoint: 'a:1',
        client: 'a',
        active: a.data.tasks,
        standby: a.data.standbyTasks,
      },
      {
        memberId: 'm-b',
        endpoint: 'b:2',
        client: 'b',
        active: b.data.tasks,
        standby: b.data.standbyTasks,
      },
    ]);
  });

  it('takes part with a member of an older millrace (no endpoint, no standbys reported)', async () => {
    const r = await assign([
      member('m-old', Buffer.from(JSON.stringify({ previousTasks: ['0_0', '0_1'] }))),
      member('m-new', encodeMemberUserData({ previousTasks: ['0_2', '0_3'], endpoint: 'n:1' })),
    ]);
    expect(r.get('m-old')!.data.tasks).toEqual(['0_0', '0_1']);
    expect(r.get('m-new')!.data.tasks).toEqual(['0_2', '0_3']);
    expect(r.get('m-new')!.data.members.map((m) => m.endpoint)).toEqual([null, 'n:1']);
  });

  it('moves the tasks of a member that left to the caught-up standby', async () => {
    const r = await assign(
      [
        member('m-a', encodeMemberUserData({ previousTasks: ['0_0', '0_1'], client: 'a' })),
        member(
          'm-c',
          encodeMemberUserData({
            previousTasks: [],
            client: 'c',
            standbyTasks: ['0_2', '0_3'],
            taskLags: { '0_2': 0, '0_3': 12 },
          }),
        ),
        member('m-b', encodeMemberUserData({ previousTasks: [], client: 'b' })),
      ],
      0,
    );
    expect(r.get('m-c')!.data.tasks.length).toBeGreaterThan(0);
    // balance allows one each beyond a's two: c takes the fresher copy, 0_2
    expect(r.get('m-c')!.data.tasks).toEqual(['0_2']);
    expect(r.get('m-b')!.data.tasks).toEqual(['0_3']);
  });
});
