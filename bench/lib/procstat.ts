/**
 * CPU time from /proc, for telling a bench's own work from everybody else's on a shared
 * machine: a process's CPU seconds, and the machine's busy seconds over all cores.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Kernel clock ticks per second (USER_HZ; 100 on Linux). */
const HZ = 100;

/** CPU seconds (user + system) a live process has used; null when it is gone. */
export function cpuSeconds(pid: number | 'self'): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch {
    return null;
  }
}

/** Busy seconds of the whole machine (all cores; idle and iowait left out). */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / HZ;
}

/** Counts CPU over a window: ours (given pids) and the rest of the machine's. */
export class CpuWindow {
  private readonly start: Map<number | 'self', number>;
  private readonly busy0: number;
  private readonly t0 = performance.now();

  constructor(private readonly pids: ReadonlyArray<number | 'self'>) {
    this.start = new Map(pids.map((p) => [p, cpuSeconds(p) ?? 0]));
    this.busy0 = machineBusySeconds();
  }

  /** CPU seconds per pid over the window, and the share of the machine used by others. */
  end(): { perPid: Map<number | 'self', number>; others: number; othersShare: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    const perPid = new Map<number | 'self', number>();
    let ours = 0;
    for (const p of this.pids) {
      const used = (cpuSeconds(p) ?? this.start.get(p)!) - this.start.get(p)!;
      perPid.set(p, used);
      ours += used;
    }
    const others = Math.max(0, machineBusySeconds() - this.busy0 - ours);
    const capacity = seconds * os.cpus().length;
    return { perPid, others, othersShare: capacity > 0 ? others / capacity : 0 };
  }
}
