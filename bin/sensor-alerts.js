#!/usr/bin/env node
// The `sensor-alerts` command (package.json `bin`, so `npx sensor-alerts train` works):
// runs the built server or CLI in this same process, building dist/ first only when the
// sources changed since the last build.
'use strict';
const { ensureBuilt } = require('../scripts/ensure-built.js');
const { join } = require('node:path');

const COMMANDS = new Map([
  ['serve', { file: 'dist/src/main.js', does: 'runs the REST API (configured by environment variables; see README.md)' }],
  ['train', { file: 'dist/bin/train.js', does: 'learns every sensor and column of a readings file (CSV or Parquet) into the weights database' }],
  ['alerts', { file: 'dist/bin/alerts.js', does: 'prints, from the stored weights, whether a value is an alert for every sensor and column' }],
  ['convert', { file: 'dist/bin/convert.js', does: 'rewrites a readings CSV as a Parquet file (which train reads faster)' }],
]);

const USAGE = `Usage: sensor-alerts <command> [options]

Commands:
${[...COMMANDS].map(([name, { does }]) => `  ${name.padEnd(8)}${does}`).join('\n')}

Run "sensor-alerts <command> --help" for a command's options.
Example: sensor-alerts train data/collects.csv

Exit codes: those of the command; 2 no command or an unknown one.
`;

const [command, ...rest] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(USAGE);
} else if (command === undefined) {
  // A usage error like any other (exit 2), so a script that forgot the command fails.
  process.stderr.write(`sensor-alerts: no command given\n\n${USAGE}`);
  process.exitCode = 2;
} else if (!COMMANDS.has(command)) {
  process.stderr.write(`sensor-alerts: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  let built = true;
  try {
    ensureBuilt();
  } catch {
    built = false; // tsc or esbuild has printed why
    process.exitCode = 1;
  }
  if (built) {
    const target = join(__dirname, '..', COMMANDS.get(command).file);
    // As if started as `node dist/.../x.js args...`: the CLIs read process.argv.
    process.argv = [process.argv[0], target, ...rest];
    require(target);
  }
}
