import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describeWithMosquitto } from '../support/mosquitto-broker';
import { describeWithPostgres } from '../support/postgres-server';

// Benchmarks are not run in CI; this proves `npm run bench:ingest` still runs end to end:
// a throwaway Mosquitto, the real service scoring the published readings, the bare
// subscriber, and the alert events coming back for the latency figures.
function benchIngestSmoke(...args: string[]): string {
  const child = spawnSync(process.execPath, [join(__dirname, '../../dist/scripts/bench/ingest-benchmark.js'), '--smoke', ...args], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  expect(child.stdout).toMatch(/^ {2}round 1: service [\d,]+ readings\/s, ceiling [\d,]+ messages\/s, ratio \d+\.\d\d$/m);
  // readings/s, p50 and p99 latency (ms) of each side
  expect(child.stdout).toMatch(/^service \(scored, state stored, events out\) +[\d,]+ +\d+\.\d +\d+\.\d$/m);
  expect(child.stdout).toMatch(/^ceiling \(bare MQTT\.js subscriber, parse only\) +[\d,]+ +\d+\.\d +\d+\.\d$/m);
  // 20 paced readings alternating above and below the latency sensor's threshold: 20 transitions, each timed.
  expect(child.stdout).toMatch(/latency: 20 transitions at 1,000 readings\/s/);
  expect(child.stdout).toMatch(/^ratio to the ceiling \(median of rounds\): \d+\.\d\d \(target >= 0\.5: (MET|NOT MET)\)$/m);
  return child.stdout;
}

describeWithMosquitto('npm run bench:ingest -- --smoke', () => {
  it('publishes real readings to a throwaway Mosquitto, scored by the service and parsed by the bare subscriber, and prints the figures', () => {
    const output = benchIngestSmoke();
    expect(output).toContain('state in SQLite (temporary file)');
    expect(output).toMatch(/^readings\/s with SQLite: [\d,]+ \(target >= 20,000: (MET|NOT MET)\)$/m);
  }, 90_000);

  describeWithPostgres('with --postgres', () => {
    it('does the same with the state in a throwaway PostgreSQL server', () => {
      expect(benchIngestSmoke('--postgres')).toContain('state in PostgreSQL (throwaway local server, fsync on)');
    }, 120_000);
  });
});
