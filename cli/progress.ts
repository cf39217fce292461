/**
 * A live restore line for `millrace run` on a terminal: records restored, remaining and
 * the rate, redrawn at most five times a second, cleared when the restore ends. Off when
 * stderr is not a terminal (logs and metrics carry the same figures).
 */
import type { AppObserver } from '../runtime/app.js';

export function withRestoreProgress(
  inner: AppObserver,
  out: NodeJS.WriteStream = process.stderr,
): AppObserver {
  if (!out.isTTY) return inner;
  const byStore = new Map<string, { restored: number; remaining: number }>();
  let started = 0;
  let lastDraw = 0;
  let shown = false;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    let restored = 0;
    let remaining = 0;
    for (const s of byStore.values()) {
      restored += s.restored;
      remaining += s.remaining;
    }
    const rate = restored / Math.max(0.001, (now - started) / 1000);
    out.write(
      `\rrestoring ${byStore.size} store(s): ${restored.toLocaleString('en-US')} records, ` +
        `${remaining.toLocaleString('en-US')} to go, ${Math.round(rate).toLocaleString('en-US')}/s\x1b[K`,
    );
    shown = true;
  };
  return {
    ...inner,
    onRestore(task, store, restored, remaining) {
      inner.onRestore?.(task, store, restored, remaining);
      if (!started) started = Date.now();
      byStore.set(`${task}/${store}`, { restored, remaining });
      draw();
    },
    onRebalance(phase, tasks) {
      inner.onRebalance?.(phase, tasks);
      if (phase === 'end' && shown) {
        draw(true);
        out.write('\n');
        shown = false;
        byStore.clear();
        started = 0;
      }
    },
  };
}
