// Process-level tests run the compiled server and the bundled CLIs exactly as `npm start`
// and `npm run train` do; build them once per test run (the build is incremental).
const { execFileSync } = require('node:child_process');

module.exports = function buildOnce() {
  const options = { cwd: `${__dirname}/../..`, stdio: 'inherit' };
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], options);
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], options);
};
