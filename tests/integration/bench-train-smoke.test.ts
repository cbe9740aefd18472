import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../support/test-app';

// Benchmarks are not run in CI; this proves `npm run bench:train` still runs end to end.
describe('npm run bench:train -- --smoke', () => {
  it('measures every contender on the committed file and finds they agree, leaving data/bench as it was', () => {
    const benchFolder = join(__dirname, '../../data/bench');
    const listing = () => (existsSync(benchFolder) ? readdirSync(benchFolder).map((name) => `${name} ${statSync(join(benchFolder, name)).mtimeMs}`) : []);
    const before = listing();
    const child = spawnSync(process.execPath, [join(__dirname, '../../dist/scripts/bench/train-benchmark.js'), '--smoke'], { encoding: 'utf8' });
    expect(listing()).toEqual(before);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/^trainer \(npm run train\) +[\d.]+ +[\d,]+ +[\d.]+ +\S+ +1\.00$/m);
    expect(child.stdout).toMatch(/^trainer on Parquet +[\d.]+/m);
    expect(child.stdout).toMatch(/^DuckDB on the CSV +[\d.]+/m);
    expect(child.stdout).toMatch(/^DuckDB on Parquet +[\d.]+/m);
    expect(child.stdout).toMatch(/^draft, TypeScript port +[\d.]+/m);
    expect(child.stdout).toContain('33,901 rows, 4.9 MB, scale 1');
    expect(child.stdout).toMatch(/^ratios of median wall time, row \/ column:$/m);
    expect(child.stdout).toMatch(/^ {2}trainer on Parquet \/ DuckDB on Parquet \(<= 1\.3\): [\d.]+ (MET|NOT MET); median of per-round ratios [\d.]+ (MET|NOT MET)$/m);
    expect(child.stdout).toMatch(/^floor: read \+ count lines +[\d.]+/m);
    expect(child.stdout).toMatch(/^floor: DuckDB chunks into Node +[\d.]+/m);
    expect(child.stdout).toMatch(/^ {2}\(DuckDB chunks into Node, nothing summed \/ DuckDB on Parquet: [\d.]+; trainer on Parquet \/ that floor: [\d.]+\)$/m);
    expect(child.stdout).toMatch(/^ {2}\(half the trainer's CSV time \/ DuckDB on Parquet: [\d.]+, what the 2x target asks of the trainer on Parquet against DuckDB's whole query\)$/m);
    expect(child.stdout).toContain('results: every contender gives the same 0.09 alert table, and mean/std agree to 1e-12 relative');
  }, 60_000);

  it('answers --help with its usage, and an unknown option in one line and exit 2 (no stack)', () => {
    const script = join(__dirname, '../../dist/scripts/bench/train-benchmark.js');
    const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
    expect({ status: help.status, stdout: help.stdout }).toEqual({ status: 0, stdout: expect.stringMatching(/^Usage: npm run bench:train -- \[--scales N,N\]/) });
    const bogus = spawnSync(process.execPath, [script, '--bogus'], { encoding: 'utf8' });
    expect({ status: bogus.status, stdout: bogus.stdout, stderr: bogus.stderr }).toEqual({ status: 2, stdout: '', stderr: expect.stringMatching(/^Unknown option '--bogus'\nUsage: npm run bench:train/) });
  });

  it('duckdb-exact-sums times its exact query against favg on a Parquet file, and says whether 62 bits were enough', () => {
    const directory = makeTempDir();
    try {
      const parquet = join(directory, 'collects.parquet');
      const converted = spawnSync(process.execPath, [join(__dirname, '../../dist/bin/convert.js'), join(__dirname, '../../data/collects.csv'), parquet], { encoding: 'utf8' });
      expect(converted.status).toBe(0);
      const child = spawnSync(process.execPath, [join(__dirname, '../../dist/scripts/bench/duckdb-exact-sums.js'), parquet, '1'], { encoding: 'utf8' });
      expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
      expect(child.stdout).toMatch(/^exact fixed-point sums \d+ ms, favg \+ stddev_samp \d+ ms \(medians of 1\): ratio [\d.]+\nreadings whose scaling to 62 bits was not exact \(0 is needed\): \d+\n$/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
