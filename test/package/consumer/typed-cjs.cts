// The CommonJS side of the `module: nodenext` check: `import x = require()` of
// sluice's ES modules, which TypeScript allows under nodenext as Node does.
import sluice = require('sluice');
import testing = require('sluice/testing');
import prometheus = require('sluice/prometheus');

export function make(): void {
  const pool = sluice.createPool({ module: new URL('file:///tasks.js'), size: 1, clock: new testing.ManualClock() });
  prometheus.instrumentPool(pool);
}
