// Writes the deterministic stand-in for the case's readings file. See HELP.
import { parseCliArguments } from '../src/interfaces/cli/cli-arguments';
import { generateCollects } from './collects-generator';

const HELP = `Usage: npm run generate:collects -- [--scale N] [--out PATH] [--seed S]

Writes the generated stand-in for the case's readings file, byte for byte the committed
data/collects.csv at scale 1 and the default seed.

Options:
  --scale N    N times more rows, for benchmarks (default 1; written to data/collects-xN.csv)
  --out PATH   where to write (default data/collects.csv, or data/collects-xN.csv)
  --seed S     another random seed: another file
  -h, --help   this text

Example:
  npm run generate:collects -- --scale 10

Exit codes: 0 written; 1 bad arguments or the file cannot be written (one line on stderr).
`;

try {
  const parsed = parseCliArguments({
    help: HELP,
    options: { scale: { type: 'string', default: '1' }, out: { type: 'string' }, seed: { type: 'string' } },
  });
  if (parsed) generate(parsed.values);
} catch (error) {
  console.error(`generate-collects: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

function generate(options: { scale: string; out?: string; seed?: string }): void {
  const scale = Number(options.scale);
  const out = options.out ?? (scale === 1 ? 'data/collects.csv' : `data/collects-x${scale}.csv`);
  const startedAt = performance.now();
  const rows = generateCollects({ out, scale, ...(options.seed !== undefined && { seed: Number(options.seed) }) });
  console.log(`wrote ${rows.toLocaleString('en-US')} rows to ${out} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
}
