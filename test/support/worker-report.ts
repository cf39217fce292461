/**
 * What an app worker process (count-worker, eos-worker) prints on stdout, one JSON object a
 * line, for the tests that drive it: `{event:'tasks', tasks, states, state, restored,
 * standbys}` whenever its tasks' states, their restored records or its standbys' lags change
 * (tasks: the running ones), `{event:'failed'}` then exit 1 when the
 * instance fails, `{event:'closed'}` then exit 0 after a graceful stop.
 */
import type { StreamsApp } from '../../runtime/app.js';
import { closeOnSignals } from '../../runtime/signals.js';

export const say = (o: Record<string, unknown>) =>
  process.stdout.write(JSON.stringify({ pid: process.pid, time: Date.now(), ...o }) + '\n');

/** Wires failure and signals, starts the app, then reports its tasks every 100 ms when they change. */
export async function runReported(app: StreamsApp): Promise<void> {
  app.onFailure((err) => {
    say({ event: 'failed', error: String(err) });
    process.exit(1);
  });
  closeOnSignals(app, { onClosed: () => (say({ event: 'closed' }), process.exit(0)) });
  await app.start();
  say({ event: 'started', instance: app.instanceId });
  let last = '';
  setInterval(() => {
    const running = [...app.tasks.values()]
      .filter((t) => t.state === 'running')
      .map((t) => t.id)
      .sort();
    const states = Object.fromEntries([...app.tasks.values()].map((t) => [t.id, t.state]));
    const restored = Object.fromEntries(
      [...app.tasks.values()].map((t) => [t.id, t.stats.restored]),
    );
    const standbys = Object.fromEntries(
      [...(app.group?.standbyTasks.values() ?? [])].map((s) => [s.id, s.lag ?? null]),
    );
    const now = JSON.stringify([states, restored, standbys]);
    if (now !== last) {
      last = now;
      say({ event: 'tasks', tasks: running, states, state: app.state, restored, standbys });
    }
  }, 100);
}
