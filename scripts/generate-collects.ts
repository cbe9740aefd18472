// Writes a larger readings file with the real distribution: data/collects.csv's rows N times.
// Usage: npm run generate:collects -- --scale N [--out path]
//   --scale N  N copies of the case's rows, fresh _ids, timestamps shifted a file span per copy
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeScaledCollects } from './scaled-collects';

const { values: options } = parseArgs({
  options: {
    scale: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});
const scale = Number(options.scale);
const out = options.out ?? `data/collects-x${scale}.csv`;
try {
  if (resolve(out) === resolve('data/collects.csv')) throw new Error('data/collects.csv is the case\'s own file: write the scaled copy elsewhere');
  const startedAt = performance.now();
  const rows = writeScaledCollects({ source: 'data/collects.csv', out, scale });
  console.log(`wrote ${rows.toLocaleString('en-US')} rows to ${out} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`generate-collects: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
