/**
 * Which topics an application owns and reads, named for its application id: the
 * source topics of each sub-topology (external inputs and repartition topics) and its
 * internal topics (changelogs, repartition topics). Shared by `status` and `reset`.
 */
import { BuiltTopology } from '../../topology/index.js';
import type { AppTopology } from '../app.js';
import { runtimeTopology } from '../topology-adapter.js';

export type TopologyLike = BuiltTopology | Pick<AppTopology, 'subtopologies' | 'internalTopics'>;

export interface AppTopics {
  applicationId: string;
  /** Source topics of each sub-topology, external first, then repartition topics. */
  sourcesBySubtopology: Map<number, string[]>;
  /** Topics the app reads that it does not own (the inputs a reset rewinds). */
  inputTopics: string[];
  /** Changelog and repartition topics the topology declares (the topics a reset deletes). */
  internalTopics: string[];
}

export function appTopics(topology: TopologyLike, applicationId: string): AppTopics {
  const t = topology instanceof BuiltTopology ? runtimeTopology(topology) : topology;
  const subs = t.subtopologies(applicationId);
  return {
    applicationId,
    sourcesBySubtopology: new Map(subs.map((s) => [s.id, [...s.sources, ...s.internalSources]])),
    inputTopics: [...new Set(subs.flatMap((s) => s.sources))],
    internalTopics: [...new Set(t.internalTopics(applicationId).map((x) => x.name))],
  };
}

/** True for `<applicationId>-…-changelog` and `<applicationId>-…-repartition`. */
export function looksInternal(topic: string, applicationId: string): boolean {
  const app = applicationId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${app}-.+-(changelog|repartition)$`).test(topic);
}
