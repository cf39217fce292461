/**
 * The interactive-query service of a running `StreamsApp`: its stores (from the built
 * topology it was given, with the serdes it was given), its tasks and standbys, and the
 * group's map.
 */
import type { StreamsApp } from '../app.js';
import { serdeResolver } from '../task/create.js';
import type { QueryStore, ReplicaSource } from './local.js';
import { QueryService, type QueryContext, type QueryServiceOptions } from './service.js';

/** The stores of `app` that can be queried (none when it was not given a built topology). */
export function queryStores(app: StreamsApp): QueryStore[] {
  const built = app.built;
  if (!built) return [];
  const serde = serdeResolver(built.serdes);
  const out: QueryStore[] = [];
  for (const sub of built.topology.subtopologies)
    for (const name of sub.stores) {
      const spec = built.topology.store(name);
      if (!spec) continue;
      out.push({
        name,
        kind: spec.kind,
        keySerdeName: spec.keySerde,
        valueSerdeName: spec.valueSerde,
        keySerde: serde(spec.keySerde),
        subtopology: sub.id,
        partitions: app.taskLayout?.partitionsBySubtopology.get(sub.id) ?? 0,
        windowSizeMs: spec.windowSizeMs ?? null,
      });
    }
  for (const g of built.topology.globals) {
    const spec = built.topology.store(g.store);
    if (!spec) continue;
    out.push({
      name: g.store,
      kind: spec.kind,
      keySerdeName: spec.keySerde,
      valueSerdeName: spec.valueSerde,
      keySerde: serde(spec.keySerde),
      subtopology: g.subtopology.id,
      partitions: 1,
      windowSizeMs: spec.windowSizeMs ?? null,
      global: true,
    });
  }
  return out;
}

/** What the service reads of `app`. */
export function queryContextFor(app: StreamsApp): QueryContext {
  const replicas: ReplicaSource = {
    endpoint: () => app.group?.endpoint ?? null,
    activeTasks: () => app.tasks.values(),
    standbyTasks: () => app.group?.standbyTasks.values() ?? [],
    fresh: (id) =>
      (app.threadState === 'running' || app.threadState === 'partitions_assigned') &&
      app.tasks.get(id)?.state === 'running' &&
      (app.group?.group?.active.includes(id) ?? false),
    globalStore: (name) => app.globalStores?.get(name),
  };
  return {
    applicationId: app.config.applicationId,
    stores: () => queryStores(app),
    replicas,
    group: () => app.group?.group,
    rebalancing: () => app.state === 'rebalancing',
    ends: (topics) => app.group?.changelogEnds(topics) ?? Promise.resolve(new Map()),
  };
}

/** The query service of `app` (what `millrace run` serves under /stores). */
export function queryService(app: StreamsApp, opts: QueryServiceOptions = {}): QueryService {
  return new QueryService(queryContextFor(app), opts);
}
