// Process-level tests run the compiled server and the bundled CLIs exactly as `npm start`
// and `npm run train` do: build them first, only if the sources changed since the last build.
const { ensureBuilt } = require('../../scripts/ensure-built');

module.exports = function buildOnce() {
  ensureBuilt();
};
