// Writes a larger readings file with the real distribution: data/collects.csv's rows N times. See HELP.
import { resolve } from 'node:path';
import { parseCliArguments } from '../src/interfaces/cli/cli-arguments';
import { UsageError } from '../src/interfaces/cli/usage.error';
import { writeScaledCollects } from './scaled-collects';

const HELP = `Usage: npm run generate:collects -- [--scale N] [--out PATH]

Writes data/collects.csv's rows (the case's real readings) N times, for benchmarks: fresh
_ids, and createdAt and params.timeStart shifted by the file's span per copy, so the file
carries the real distribution.

Options:
  --scale N    how many copies of the rows (default 10)
  --out PATH   where to write (default data/collects-xN.csv); never data/collects.csv itself
  -h, --help   this text

Example:
  npm run generate:collects -- --scale 100

Exit codes: 0 written; 1 the file cannot be written; 2 bad arguments (one line on stderr).
`;

try {
  const parsed = parseCliArguments({ help: HELP, options: { scale: { type: 'string', default: '10' }, out: { type: 'string' } } });
  if (parsed) generate(parsed.values);
} catch (error) {
  console.error(`generate-collects: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}

function generate(options: { scale: string; out?: string }): void {
  const scale = Number(options.scale);
  if (!/^\d+$/.test(options.scale) || scale < 1) throw new UsageError('--scale must be a whole number >= 1');
  const out = options.out ?? `data/collects-x${scale}.csv`;
  if (resolve(out) === resolve('data/collects.csv')) throw new Error("data/collects.csv is the case's own file: write the scaled copy elsewhere");
  const startedAt = performance.now();
  const rows = writeScaledCollects({ source: 'data/collects.csv', out, scale });
  console.log(`wrote ${rows.toLocaleString('en-US')} rows to ${out} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
}
