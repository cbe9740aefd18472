// How much the documented ways of running the trainer add to the built CLI itself, as whole
// processes on the committed file: `npm run train` (README), `npx sensor-alerts train`,
// `node bin/sensor-alerts.js train` (what both run: the staleness check, then the CLI in
// process) and `node dist/bin/train.js` (the built CLI directly, the baseline).
// Contenders alternate in each round (this machine is shared and noisy); medians are reported.
// Usage: npm run bench:startup -- [--rounds N] [--file path] [--smoke]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseScriptArguments, refuseArguments, wholeNumberOption } from '../script-arguments';
import { median } from './median';

const USAGE = `Usage: npm run bench:startup -- [--rounds N] [--file PATH] [--smoke]

Times the trainer as whole processes, started the documented ways and directly.

Options:
  --rounds N   rounds, each running every contender once in turn (default 15)
  --file PATH  the readings file (default data/collects.csv)
  --smoke      one round, to check that it still works
  -h, --help   this text

Example:
  npm run bench:startup -- --rounds 25

Exit codes: 0 measured; 1 a contender failed; 2 bad arguments.`;

const { values: options } = parseScriptArguments(USAGE, {
  options: { rounds: { type: 'string', default: '15' }, file: { type: 'string', default: 'data/collects.csv' }, smoke: { type: 'boolean', default: false } },
});
try {
  measure();
} catch (error) {
  // A contender that failed: one line, no stack.
  process.stderr.write(`bench:startup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

function measure(): void {
  const rounds = options.smoke ? 1 : wholeNumberOption(USAGE, 'rounds', options.rounds);
  const root = join(__dirname, '../../..');
  // Relative to the folder the command runs in, as train's own argument would be (the contenders run from the project's root).
  const file = resolve(options.file);
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) refuseArguments(USAGE, `--file ${options.file}: no such file`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const contenders: ReadonlyArray<{ name: string; command: string; args: string[] }> = [
    { name: 'node dist/bin/train.js (built CLI, baseline)', command: process.execPath, args: ['dist/bin/train.js', file] },
    { name: 'bin/sensor-alerts.js train (README)', command: process.execPath, args: ['bin/sensor-alerts.js', 'train', file] },
    { name: 'npm run train', command: npm, args: ['run', '--silent', 'train', '--', file] },
    { name: 'npx sensor-alerts train', command: 'npx', args: ['--no-install', 'sensor-alerts', 'train', file] },
  ];
  const directory = mkdtempSync(join(tmpdir(), 'sensor-alerts-startup-'));
  const times = contenders.map(() => [] as number[]);
  try {
    for (let round = 0; round <= rounds; round++) {
      contenders.forEach((contender, index) => {
        const startedAt = performance.now();
        const result = spawnSync(contender.command, contender.args, {
          cwd: root,
          env: { ...process.env, DB_PATH: join(directory, `${index}.db`) },
          encoding: 'utf8',
        });
        const ms = performance.now() - startedAt;
        if (result.status !== 0 || result.stderr !== '') throw new Error(`${contender.name} failed (${result.status}): ${result.stderr}`);
        if (round > 0) times[index]!.push(ms); // round 0 warms the file cache
      });
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  const baseline = median(times[0]!);
  console.log(`${rounds} rounds on ${file}; median wall time of the whole process, and its ratio to the built CLI's`);
  contenders.forEach((contender, index) => {
    const ms = median(times[index]!);
    console.log(`  ${contender.name.padEnd(46)} ${ms.toFixed(0).padStart(5)} ms  x${(ms / baseline).toFixed(2)}`);
  });
}
