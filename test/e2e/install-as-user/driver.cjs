// The clicks topology (clicks-driver.cjs) from a CommonJS module: `require('millrace')`,
// which loads the package's ES modules (Node 20.19 and later).
const runClicks = require('./clicks-driver.cjs');

runClicks(require('millrace'), require('millrace/testing')).catch((err) => {
  console.error(err);
  process.exit(1);
});
