import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describeWithPostgres } from '../support/postgres-server';

// Benchmarks are not run in CI; this proves `npm run bench:api` still runs end to end.
function benchApiSmoke(...args: string[]): string {
  const child = spawnSync(process.execPath, [join(__dirname, '../../dist/scripts/bench/api-benchmark.js'), '--smoke', ...args], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  // ours (req/s, p50, p99), the ceiling (req/s, p99, ratio), observed (req/s, p99, ratio)
  expect(child.stdout).toMatch(/^predict +1 +[\d,]+ +\d+\.\d +\d+\.\d +[\d,]+ +\d+\.\d +\d+\.\d\d +[\d,]+ +\d+\.\d +\d+\.\d\d$/m);
  expect(child.stdout).toMatch(/^batch predict, 100,000 items over 1,000 sensors, .*: median \d+ ms of 1, [\d,]+ predictions\/s end to end/m);
  return child.stdout;
}

describe('npm run bench:api -- --smoke', () => {
  it('loads the real server, the bare-Express ceiling and its observed twin, prints the ratios, and times the large batch', () => {
    expect(benchApiSmoke()).toContain('weights in SQLite (temporary file)');
  }, 60_000);
});

describeWithPostgres('npm run bench:api -- --smoke --postgres', () => {
  it('does the same with the weights in a throwaway PostgreSQL server', () => {
    expect(benchApiSmoke('--postgres')).toContain('weights in PostgreSQL (throwaway local server, fsync on)');
  }, 90_000);
});
