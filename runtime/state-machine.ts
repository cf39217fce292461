/**
 * A small finite state machine: the states, the transitions allowed between them (in one
 * table), and a check on every move. The stream thread and each task keep their state in
 * one, as Kafka Streams' StreamThread and Task do, so that which events may move them
 * where is written down and an impossible move fails loudly instead of corrupting state.
 */
import { MillraceError } from './errors.js';

/** A move the transition table does not allow: a bug in the runtime, named with both states. */
export class IllegalTransitionError extends MillraceError {
  constructor(machine: string, from: string, to: string, event: string) {
    super(`${machine}: illegal transition ${from} -> ${to} on ${event}`, {
      code: 'ILLEGAL_TRANSITION',
      domain: 'internal',
    });
  }
}

/** For each state, the states it may move to. */
export type Transitions<S extends string> = Readonly<Record<S, readonly S[]>>;

export class StateMachine<S extends string> {
  private current: S;
  /** When the machine entered its current state (Date.now()), and the event that moved it there. */
  enteredAt = Date.now();
  enteredBy = 'created';

  constructor(
    /** Named in errors, e.g. `task 0_3` or `stream thread`. */
    readonly name: string,
    private readonly transitions: Transitions<S>,
    initial: S,
    private readonly onChange?: (from: S, to: S, event: string) => void,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  is(...states: S[]): boolean {
    return states.includes(this.current);
  }

  canMoveTo(next: S): boolean {
    return this.transitions[this.current].includes(next);
  }

  /** Moves to `next` because of `event`; throws IllegalTransitionError if not allowed. */
  to(next: S, event: string): void {
    if (!this.canMoveTo(next))
      throw new IllegalTransitionError(this.name, this.current, next, event);
    const from = this.current;
    this.current = next;
    this.enteredAt = Date.now();
    this.enteredBy = event;
    this.onChange?.(from, next, event);
  }
}
