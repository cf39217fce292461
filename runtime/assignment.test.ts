import { describe, expect, it } from 'vitest';
import {
  assignTasks,
  assignWithStandbys,
  partitionsForTasks,
  type MemberInfo,
} from './assignment.js';

const tasks = (subtopologies: number, partitions: number) =>
  Array.from(
    { length: subtopologies * partitions },
    (_, i) => `${i % subtopologies}_${Math.floor(i / subtopologies)}`,
  );

function owners(result: Map<string, string[]>) {
  const all = [...result.values()].flat();
  return { all, unique: new Set(all) };
}

describe('task assignment', () => {
  it('gives every task to exactly one member, balanced within one', () => {
    for (const members of [1, 2, 3, 5, 9]) {
      const t = tasks(2, 8);
      const r = assignTasks(
        t,
        Array.from({ length: members }, (_, i) => ({ memberId: `m${i}`, previousTasks: [] })),
      );
      const { all, unique } = owners(r);
      expect(all.length).toBe(t.length);
      expect(unique.size).toBe(t.length);
      const sizes = [...r.values()].map((l) => l.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('spreads each sub-topology across members', () => {
    const r = assignTasks(tasks(2, 8), [
      { memberId: 'a', previousTasks: [] },
      { memberId: 'b', previousTasks: [] },
    ]);
    for (const list of r.values()) {
      expect(list.filter((t) => t.startsWith('0_')).length).toBe(4);
      expect(list.filter((t) => t.startsWith('1_')).length).toBe(4);
    }
  });

  it('is sticky: a joining member takes tasks only from the busiest, others keep theirs', () => {
    const t = tasks(1, 8);
    const first = assignTasks(t, [{ memberId: 'a', previousTasks: [] }]);
    expect(first.get('a')!.length).toBe(8);
    const second = assignTasks(t, [
      { memberId: 'a', previousTasks: first.get('a')! },
      { memberId: 'b', previousTasks: [] },
    ]);
    expect(second.get('a')!.length).toBe(4);
    expect(second.get('b')!.length).toBe(4);
    const third = assignTasks(t, [
      { memberId: 'a', previousTasks: second.get('a')! },
      { memberId: 'b', previousTasks: second.get('b')! },
      { memberId: 'c', previousTasks: [] },
    ]);
    const kept = (m: 'a' | 'b') => third.get(m)!.filter((x) => second.get(m)!.includes(x)).length;
    expect(kept('a') + kept('b')).toBe(third.get('a')!.length + third.get('b')!.length);
    expect(third.get('c')!.length).toBeGreaterThanOrEqual(2);
  });

  it('drops tasks that no longer exist and ignores duplicates claimed twice', () => {
    const r = assignTasks(
      ['0_0', '0_1'],
      [
        { memberId: 'a', previousTasks: ['0_0', '0_5'] },
        { memberId: 'b', previousTasks: ['0_0'] },
      ],
    );
    expect([...r.values()].flat().sort()).toEqual(['0_0', '0_1']);
  });

  it('maps tasks to the partitions of every source topic of their sub-topology', () => {
    const sources = new Map([
      [0, ['orders', 'payments']],
      [1, ['app-x-repartition']],
    ]);
    const parts = partitionsForTasks(['0_1', '1_1', '0_3'], sources, () => 4);
    expect(parts).toEqual({ orders: [1, 3], payments: [1, 3], 'app-x-repartition': [1] });
  });
});

describe('high availability: caught-up copies and standby replicas', () => {
  const m = (memberId: string, o: Partial<MemberInfo> = {}): MemberInfo => ({
    memberId,
    previousTasks: [],
    ...o,
  });

  it('gives the tasks of a member that left to the members whose standbys are caught up', () => {
    // a ran 0_0..0_3 and b 0_4..0_7; c kept standbys of 0_0 and 0_1, b of 0_2 and 0_3.
    const r = assignTasks(tasks(1, 8), [
      m('b', {
        previousTasks: ['0_4', '0_5', '0_6', '0_7'],
        taskLags: { '0_2': 5, '0_3': 20_000 },
      }),
      m('c', { taskLags: { '0_0': 0, '0_1': 10_000 } }),
    ]);
    expect(r.get('c')).toEqual(expect.arrayContaining(['0_0', '0_1']));
    // b is full with its own four; 0_2 and 0_3 go to c (b's copy of 0_2 cannot be used)
    expect(r.get('b')).toEqual(['0_4', '0_5', '0_6', '0_7']);
    expect(r.get('c')!.sort()).toEqual(['0_0', '0_1', '0_2', '0_3']);
  });

  it('a copy beyond acceptableRecoveryLag does not attract the task; the freshest copy wins', () => {
    const members = [
      m('a', { previousTasks: ['0_1'] }),
      m('b', { taskLags: { '0_0': 50_000 } }),
      m('c', { taskLags: { '0_0': 900 } }),
      m('d', { taskLags: { '0_0': 100 } }),
    ];
    const r = assignTasks(['0_0', '0_1'], members, { acceptableRecoveryLag: 1000 });
    expect(r.get('d')).toEqual(['0_0']);
    const strict = assignTasks(['0_0', '0_1'], members.slice(0, 3), { acceptableRecoveryLag: 10 });
    // no copy is acceptable: the least-loaded member takes it (b or c, not the one by lag)
    expect(strict.get('a')).toEqual(['0_1']);
    expect([...strict.get('b')!, ...strict.get('c')!]).toEqual(['0_0']);
  });

  it('stays balanced and sticky with lags reported (the previous owner keeps its task)', () => {
    const r = assignTasks(tasks(2, 4), [
      m('a', { previousTasks: ['0_0', '1_0', '0_1', '1_1'], taskLags: { '0_2': 0 } }),
      m('b', { previousTasks: ['0_2', '1_2', '0_3', '1_3'], taskLags: { '0_0': 0 } }),
    ]);
    expect(r.get('a')).toEqual(['0_0', '1_0', '0_1', '1_1']);
    expect(r.get('b')).toEqual(['0_2', '1_2', '0_3', '1_3']);
  });

  it('places each standby on another instance than its active, balanced, as many as instances allow', () => {
    const members = ['a', 'b', 'c'].map((id) => m(id));
    const t = tasks(2, 6);
    const { active, standby } = assignWithStandbys(t, members, { numStandbyReplicas: 1 });
    const ownerOf = new Map([...active].flatMap(([mm, l]) => l.map((x) => [x, mm] as const)));
    const copies = [...standby].flatMap(([mm, l]) => l.map((x) => [x, mm] as const));
    expect(copies.map(([x]) => x).sort()).toEqual([...t].sort());
    for (const [x, mm] of copies) expect(mm).not.toBe(ownerOf.get(x));
    const loads = [...standby.values()].map((l) => l.length);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    // two replicas on three instances: each task on all three; three replicas: still two copies
    for (const n of [2, 3]) {
      const two = assignWithStandbys(t, members, { numStandbyReplicas: n });
      for (const x of t) {
        const holders = [...two.standby].filter(([, l]) => l.includes(x)).map(([mm]) => mm);
        expect(new Set(holders).size).toBe(2);
        expect(holders).not.toContain([...two.active].find(([, l]) => l.includes(x))![0]);
      }
    }
  });

  it('never puts a standby on the active task’s instance (members of one client), nor on a lone instance', () => {
    const members = [
      m('a1', { client: 'host-a' }),
      m('a2', { client: 'host-a' }),
      m('b1', { client: 'host-b' }),
    ];
    const { active, standby } = assignWithStandbys(tasks(1, 6), members, {
      numStandbyReplicas: 1,
    });
    const client = (id: string) => members.find((x) => x.memberId === id)!.client;
    for (const [mm, list] of standby)
      for (const x of list) {
        const owner = [...active].find(([, l]) => l.includes(x))![0];
        expect(client(mm)).not.toBe(client(owner));
      }
    const alone = assignWithStandbys(
      tasks(1, 4),
      [m('a1', { client: 'x' }), m('a2', { client: 'x' })],
      {
        numStandbyReplicas: 1,
      },
    );
    expect([...alone.standby.values()].flat()).toEqual([]);
  });

  it('keeps a standby where it was (sticky), and on the instance that ran the task before', () => {
    const first = assignWithStandbys(tasks(1, 4), [m('a'), m('b'), m('c')], {
      numStandbyReplicas: 1,
    });
    const again = assignWithStandbys(
      tasks(1, 4),
      ['a', 'b', 'c'].map((id) =>
        m(id, {
          previousTasks: first.active.get(id)!,
          previousStandbys: first.standby.get(id)!,
          taskLags: Object.fromEntries(first.standby.get(id)!.map((x) => [x, 3])),
        }),
      ),
      { numStandbyReplicas: 1 },
    );
    expect(again).toEqual(first);
  });

  it('gives stateless tasks no standby', () => {
    const r = assignWithStandbys(tasks(2, 2), [m('a'), m('b')], {
      numStandbyReplicas: 1,
      stateful: (t) => t.startsWith('1_'),
    });
    expect([...r.standby.values()].flat().sort()).toEqual(['1_0', '1_1']);
  });
});
