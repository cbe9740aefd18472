import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { VIBRATION_METRICS } from '../../src/domain/vibration-metrics';
import { runCli } from '../support/cli';
import { meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { storedModels, type StoredModel } from '../support/stored-models';
import { makeTempDir } from '../support/test-app';

/**
 * The trainer on CSV columns of each kind that used to break, across worker threads: every
 * stored (sensor, column) held to exact rational arithmetic over the cells as Number() reads
 * them, on SQLite and PostgreSQL.
 */
const ROWS = 3000;
const COLUMNS: ReadonlyArray<(row: number) => string> = [
  () => '0.0123', // a sensor stuck at one value: a flat-lined column
  (row) => String(1e9 + row / 1000), // far from zero
  (row) => (row % 2 ? '1.7e308' : '1.6e308'), // near the largest double
  (row) => (row % 3 === 0 ? '1e-200' : '2e-200'), // squares underflow
  (row) => String(-3e12 + (row % 17) * 0.001), // far from zero, negative
  (row) => (row % 5 === 0 ? '' : String(0.045 + ((row * 7919) % 1000) / 17_000)), // ordinary readings with gaps
];

function readingsFile(directory: string): { path: string; columns: Map<string, Array<number | null>[]> } {
  const sensors = ['STUCK', 'S2'];
  const columns = new Map(sensors.map((sensor) => [sensor, VIBRATION_METRICS.map((): Array<number | null> => [])]));
  const lines = [`sensorId,${VIBRATION_METRICS.join(',')}`];
  for (let row = 0; row < ROWS; row++) {
    const sensor = sensors[row % sensors.length]!;
    const cells = COLUMNS.map((cell) => cell(row));
    lines.push(`${sensor},${cells.join(',')}`);
    cells.forEach((cell, index) => columns.get(sensor)![index]!.push(cell === '' ? null : Number(cell)));
  }
  const path = join(directory, 'kinds.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, columns };
}

function expectExactModels(stored: ReadonlyArray<Omit<StoredModel, 'version'>>, columns: Map<string, Array<number | null>[]>): void {
  expect(stored).toHaveLength(columns.size * VIBRATION_METRICS.length);
  for (const { sensor_id, metric, mean, std, n } of stored) {
    const readings = columns.get(sensor_id)![VIBRATION_METRICS.indexOf(metric)]!;
    const present = readings.filter((reading) => reading !== null);
    expect(n).toBe(present.length);
    expect(meanErrorInUlps(mean, readings)).toBeLessThanOrEqual(1);
    expect(stdRelativeError(std, readings)).toBeLessThanOrEqual(1e-13);
    if (present.every((reading) => reading === present[0])) expect([mean, std]).toEqual([present[0], 0]);
  }
}

describe('npm run train: exact statistics on every kind of column', () => {
  const directory = makeTempDir();
  const { path, columns } = readingsFile(directory);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it.each(['1', '2'])('stores exact models on SQLite with %s thread(s)', (threads) => {
    const dbPath = join(directory, `kinds-${threads}.db`);
    expect(runCli('train', [path, '--threads', threads], dbPath).status).toBe(0);
    expectExactModels(storedModels(dbPath), columns);
  });

  it('says T for the stuck value of a flat-lined sensor (its threshold is the value itself)', () => {
    const dbPath = join(directory, 'kinds-1.db');
    const alerts = runCli('alerts', ['--value', '0.0123', '--format', 'csv', '--sensor', 'STUCK'], dbPath);
    expect(alerts.status).toBe(0);
    const [header, row] = alerts.stdout.trim().split('\n');
    expect(row!.split(',')[header!.split(',').indexOf('params.velRMS.x')]).toBe('true');
  });

  describeWithPostgres('on PostgreSQL', (adminUrl) => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(adminUrl(), 'trainer_exact');
    });
    afterAll(() => database.drop());

    it('stores the same exact models', async () => {
      const child = spawnSync(process.execPath, [join(__dirname, '../../dist/bin/train.js'), path, '--threads', '2'], {
        env: { PATH: process.env.PATH, DATABASE_URL: database.url },
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const client = new Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<Omit<StoredModel, 'version'>>('SELECT sensor_id, metric, mean, std, n::float8 AS n FROM weights');
        expectExactModels(rows, columns);
      } finally {
        await client.end();
      }
    });
  });
});
