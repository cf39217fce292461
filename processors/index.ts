/** millrace processors: the Processor contract, the registry of types, and the built-ins. */
import { market } from './builtins/market.js';
import { stateful } from './builtins/stateful.js';
import { stateless } from './builtins/stateless.js';
import { tables } from './builtins/table.js';
import { sessions } from './builtins/sessions.js';
import { sliding } from './builtins/sliding.js';
import { streamJoins } from './builtins/stream-join.js';
import { tableJoins } from './builtins/table-join.js';
import { suppress } from './builtins/suppress.js';
import { windowed } from './builtins/windowed.js';
import { processorRegistry } from './registry.js';

for (const def of [
  ...stateless,
  ...stateful,
  ...tables,
  ...windowed,
  ...sessions,
  ...sliding,
  ...suppress,
  ...streamJoins,
  ...tableJoins,
  ...market,
])
  processorRegistry.register(def);

export * from './api.js';
export { processorRegistry, registerProcessor, type ProcessorDefinition } from './registry.js';
