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
  // Readings per CPU-second are n/a when a burst this small took less than a clock tick.
  const perCpu = String.raw`(?:[\d,]+|n/a)`;
  expect(child.stdout).toMatch(
    new RegExp(String.raw`^ {2}round 1: service [\d,]+ readings/s \(${perCpu} per CPU-second\), ceiling [\d,]+ messages/s \(${perCpu} per CPU-second\), ratio \d+\.\d\d \(by CPU (?:\d+\.\d\d|n/a)\)$`, 'm'),
  );
  // readings/s, per CPU-second, p50 and p99 latency (ms) of each side
  expect(child.stdout).toMatch(new RegExp(String.raw`^service \(scored, state stored, events out\) +[\d,]+ +${perCpu} +\d+\.\d +\d+\.\d$`, 'm'));
  expect(child.stdout).toMatch(new RegExp(String.raw`^ceiling \(bare MQTT\.js subscriber, parse only\) +[\d,]+ +${perCpu} +\d+\.\d +\d+\.\d$`, 'm'));
  // 20 paced readings alternating above and below the latency sensor's threshold: 20 transitions, each timed.
  expect(child.stdout).toMatch(/latency: 20 transitions at 1,000 readings\/s/);
  expect(child.stdout).toMatch(/^ratio to the ceiling \(median of rounds\): \d+\.\d\d \(target >= 0\.5: (MET|NOT MET)\); by CPU time: (\d+\.\d\d|n\/a)$/m);
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
