/**
 * The sessions a session aggregation knows, per key, in memory: the open ones and the
 * recently closed ones (rebuilt from the store at init). Finding the sessions a record
 * touches is a walk of its key's few sessions, with no store scan on the record path.
 */
import type { SessionWindow } from '../../state/api.js';
import { keyIdentity } from './key-identity.js';

export interface Session extends SessionWindow {
  readonly key: unknown;
  closed: boolean;
}

export class SessionIndex {
  /** Each key's sessions, by start (they never overlap). */
  private readonly byKey = new Map<unknown, Session[]>();

  add(key: unknown, w: SessionWindow, closed: boolean): Session {
    const s: Session = { key, start: w.start, end: w.end, closed };
    const id = keyIdentity(key);
    const list = this.byKey.get(id);
    if (!list) this.byKey.set(id, [s]);
    else {
      let i = list.length;
      while (i > 0 && list[i - 1]!.start > s.start) i--;
      list.splice(i, 0, s);
    }
    return s;
  }

  /** `key`'s sessions that end at or after `lo` and start at or before `hi`, by start. */
  overlapping(key: unknown, lo: number, hi: number): Session[] {
    const list = this.byKey.get(keyIdentity(key));
    return list ? list.filter((s) => s.end >= lo && s.start <= hi) : [];
  }

  /** True when `s` itself (not an equal session) is in the index. */
  holds(s: Session): boolean {
    return this.byKey.get(keyIdentity(s.key))?.includes(s) ?? false;
  }

  remove(s: Session): void {
    const id = keyIdentity(s.key);
    const list = this.byKey.get(id);
    const i = list?.indexOf(s) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (!list!.length) this.byKey.delete(id);
  }
}
