// The clicks topology (clicks-driver.cjs) from an ES module: `import … from 'millrace'`.
import * as millrace from 'millrace';
import * as testing from 'millrace/testing';
import runClicks from './clicks-driver.cjs';

await runClicks(millrace, testing);
