/** Operations on an application from outside it: `status`, `reset`, the demo's clock look-up (see cli/commands/). */
export { appTopics, looksInternal, type AppTopics, type TopologyLike } from './app-topics.js';
export { committedStreamTime } from './committed-clock.js';
export { withAdmin, unreachable } from './connect.js';
export {
  buildStatus,
  fetchStatus,
  queryEndpoints,
  type AppStatus,
  type PartitionStatus,
} from './status.js';
export {
  applyReset,
  appStateDir,
  fetchResetPlan,
  planReset,
  type ResetPlan,
  type ResetTarget,
  waitUntilGone,
} from './reset.js';
