import { describe, expect, it } from 'vitest';
import { assignTasks, partitionsForTasks } from './assignment.js';

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
