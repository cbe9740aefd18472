// Process-level tests run the compiled server exactly as `npm start` does; build it once per run.
const { execFileSync } = require('node:child_process');

module.exports = function buildOnce() {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: `${__dirname}/../..`,
    stdio: 'inherit',
  });
};
