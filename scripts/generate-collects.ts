// Writes the deterministic stand-in for the case's readings file.
// Usage: npm run generate:collects -- [--scale N] [--out path] [--seed S]
//   --scale N  N times more rows (for benchmarks; only the scale-1 file is committed)
import { parseArgs } from 'node:util';
import { generateCollects } from './collects-generator';

const { values: options } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    out: { type: 'string' },
    seed: { type: 'string' },
  },
});
const scale = Number(options.scale);
const out = options.out ?? (scale === 1 ? 'data/collects.csv' : `data/collects-x${scale}.csv`);
try {
  const startedAt = performance.now();
  const rows = generateCollects({ out, scale, ...(options.seed !== undefined && { seed: Number(options.seed) }) });
  console.log(`wrote ${rows.toLocaleString('en-US')} rows to ${out} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`generate-collects: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
