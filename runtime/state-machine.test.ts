import { describe, expect, it } from 'vitest';
import {
  TASK_TRANSITIONS,
  THREAD_TRANSITIONS,
  type TaskState,
  type ThreadState,
} from './lifecycle.js';
import { IllegalTransitionError, StateMachine, type Transitions } from './state-machine.js';

/** Every (from, to) pair of a state set, allowed or not by the table. */
function pairs<S extends string>(t: Transitions<S>): Array<[S, S, boolean]> {
  const states = Object.keys(t) as S[];
  return states.flatMap((from) =>
    states.map((to): [S, S, boolean] => [from, to, t[from].includes(to)]),
  );
}

/** A machine placed in `from` by a path of allowed moves (breadth-first from the initial state). */
function machineIn<S extends string>(t: Transitions<S>, initial: S, from: S): StateMachine<S> {
  const path = new Map<S, S[]>([[initial, []]]);
  const queue = [initial];
  while (queue.length) {
    const s = queue.shift()!;
    for (const n of t[s]) {
      if (path.has(n)) continue;
      path.set(n, [...path.get(s)!, n]);
      queue.push(n);
    }
  }
  const m = new StateMachine<S>('m', t, initial);
  for (const s of path.get(from) ?? []) m.to(s, 'setup');
  return m;
}

describe('StateMachine', () => {
  it('moves along allowed transitions, tells the listener, and refuses others naming both states and the event', () => {
    const seen: string[] = [];
    const m = new StateMachine<'a' | 'b' | 'c'>(
      'door',
      { a: ['b'], b: ['c'], c: [] },
      'a',
      (f, t, e) => seen.push(`${f}>${t}:${e}`),
    );
    m.to('b', 'open');
    expect(m.state).toBe('b');
    expect(m.is('a', 'b')).toBe(true);
    expect(() => m.to('a', 'slam')).toThrow(IllegalTransitionError);
    expect(() => m.to('a', 'slam')).toThrow('door: illegal transition b -> a on slam');
    expect(m.state).toBe('b');
    expect(seen).toEqual(['a>b:open']);
  });

  it('remembers when it entered its state and why (a refused move changes neither)', async () => {
    const m = new StateMachine<'a' | 'b'>('door', { a: ['b'], b: [] }, 'a');
    const created = m.enteredAt;
    await new Promise((r) => setTimeout(r, 5));
    m.to('b', 'open');
    expect(m.enteredBy).toBe('open');
    expect(m.enteredAt).toBeGreaterThan(created);
    const opened = m.enteredAt;
    expect(() => m.to('a', 'slam')).toThrow(IllegalTransitionError);
    expect([m.enteredAt, m.enteredBy]).toEqual([opened, 'open']);
  });
});

describe.each([
  ['stream thread', THREAD_TRANSITIONS as Transitions<string>, 'created'],
  ['task', TASK_TRANSITIONS as Transitions<string>, 'created'],
])('the %s lifecycle', (_name, table, initial) => {
  it('reaches every state from its initial one', () => {
    for (const s of Object.keys(table)) expect(() => machineIn(table, initial, s)).not.toThrow();
  });

  it.each(pairs(table))('%s -> %s allowed: %s', (from, to, allowed) => {
    const m = machineIn(table, initial, from);
    if (allowed) {
      m.to(to, 'test');
      expect(m.state).toBe(to);
    } else expect(() => m.to(to, 'test')).toThrow(`illegal transition ${from} -> ${to} on test`);
  });
});

describe('what the lifecycles allow, in the words of the runtime', () => {
  const thread = (s: ThreadState) => THREAD_TRANSITIONS[s];
  const task = (s: TaskState) => TASK_TRANSITIONS[s];
  it('a thread processes only after an assignment, and stops only through pending_shutdown', () => {
    expect(thread('starting')).not.toContain('running');
    expect(thread('partitions_revoked')).not.toContain('running');
    expect(thread('partitions_assigned')).toContain('running');
    for (const s of Object.keys(THREAD_TRANSITIONS) as ThreadState[])
      if (s !== 'pending_shutdown') expect(thread(s)).not.toContain('dead');
    expect(thread('dead')).toEqual([]);
  });

  it('a task runs only after restoring, and nothing leaves closed', () => {
    expect(task('created')).not.toContain('running');
    expect(task('restoring')).toContain('running');
    expect(task('suspended')).toEqual(['closed']);
    expect(task('closed')).toEqual([]);
  });
});
