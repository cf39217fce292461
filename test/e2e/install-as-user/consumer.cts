// A CommonJS TypeScript file (compiled to require()) using the public types: the package's
// declarations must resolve for it as they do for an ES module.
import { StreamsApp, TopologyBuilder } from 'millrace';

const b = new TopologyBuilder('cjs-count');
b.stream('in', { key: 'string', value: 'string' })
  .groupByKey({ keySerde: 'string', valueSerde: 'string' })
  .count({ name: 'counts' })
  .to('out', { key: 'string', value: 'json' });
export const app = new StreamsApp(b.build('cjs-count'), {
  applicationId: 'cjs-count',
  bootstrapServers: '127.0.0.1:9092',
});
