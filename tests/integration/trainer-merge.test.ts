import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { VIBRATION_METRICS } from '../../src/domain/vibration-metrics';
import { runCli } from '../support/cli';
import { exactMean, meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
import { createTestDatabase, describeWithPostgres } from '../support/postgres-server';
import { storedModels, type StoredModel } from '../support/stored-models';
import { makeTempDir } from '../support/test-app';

const COMMITTED = join(__dirname, '../../data/collects.csv');
const [HEADER, ...ROWS] = readFileSync(COMMITTED, 'utf8').trimEnd().split('\n') as [string, ...string[]];
const COLUMNS = HEADER.split(',');

/** Every (sensor, metric)'s readings in `rows`, parsed independently of the trainer (the file has no quotes). */
function readingsOf(rows: readonly string[]): Map<string, number[]> {
  const sensorColumn = COLUMNS.indexOf('sensorId');
  const readings = new Map<string, number[]>();
  for (const row of rows) {
    const cells = row.split(',');
    for (const metric of VIBRATION_METRICS) {
      const cell = cells[COLUMNS.indexOf(metric)]!;
      if (cell === '') continue;
      const key = `${cells[sensorColumn]} ${metric}`;
      if (!readings.has(key)) readings.set(key, []);
      readings.get(key)!.push(Number(cell));
    }
  }
  return readings;
}

const ALL_READINGS = readingsOf(ROWS);

/** Each stored model holds the exact statistics of all the file's readings for it. */
function expectStatisticsOfWholeFile(models: readonly StoredModel[]): void {
  expect(models).toHaveLength(ALL_READINGS.size);
  for (const model of models) {
    const readings = ALL_READINGS.get(`${model.sensor_id} ${model.metric}`)!;
    expect(model.n).toBe(readings.length);
    expect(model.mean).toBe(exactMean(readings));
    expect(meanErrorInUlps(model.mean, readings)).toBeLessThanOrEqual(1);
    expect(stdRelativeError(model.std, readings)).toBeLessThanOrEqual(1e-13);
  }
}

function sqliteChanges(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT DISTINCT change FROM weights_history ORDER BY change').all() as Array<{ change: string }>).map((row) => row.change);
  } finally {
    db.close();
  }
}

describe('npm run train -- --merge', () => {
  const directory = makeTempDir();
  const file = (name: string, rows: readonly string[]) => {
    const path = join(directory, name);
    writeFileSync(path, `${[HEADER, ...rows].join('\n')}\n`);
    return path;
  };
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('train a.csv then train --merge b.csv equals training both: the exact statistics of every reading', () => {
    const cut = Math.floor(ROWS.length * 0.6);
    const dbPath = join(directory, 'merged.db');
    expect(runCli('train', [file('a.csv', ROWS.slice(0, cut))], dbPath).status).toBe(0);
    const merged = runCli('train', [file('b.csv', ROWS.slice(cut)), '--merge'], dbPath);
    expect(merged.stderr).toBe('');
    expect(merged.status).toBe(0);
    expect(merged.stdout).toMatch(/^merged \d+ models of \d+ sensors from 13,561 rows of /);
    const models = storedModels(dbPath);
    expectStatisticsOfWholeFile(models);
    // A model of both parts was fitted, then updated; one of a single part was written once.
    const [inA, inB] = [readingsOf(ROWS.slice(0, cut)), readingsOf(ROWS.slice(cut))];
    expect(models.map((model) => model.version)).toEqual(models.map(({ sensor_id, metric }) => [inA, inB].filter((part) => part.has(`${sensor_id} ${metric}`)).length));
    expect(models.some((model) => model.version === 2)).toBe(true);
    expect(sqliteChanges(dbPath)).toEqual(['fit', 'update']);
  });

  it('creates the models a database does not have yet', () => {
    const dbPath = join(directory, 'fresh.db');
    expect(runCli('train', [COMMITTED, '--merge'], dbPath).status).toBe(0);
    expectStatisticsOfWholeFile(storedModels(dbPath));
  });

  it('changes nothing when one model of the file cannot be merged, and says where', () => {
    const dbPath = join(directory, 'refused.db');
    expect(runCli('train', [file('first.csv', ROWS.slice(0, 100))], dbPath).status).toBe(0);
    const before = storedModels(dbPath);
    // A new sensor with one reading of params.velRMS.x: no model to merge it into, too few to fit one.
    const lone = `x,2021-06-01T00:00:00.000Z,,,,3,1656,1622506601,0.5,,,NEW0001,20`;
    const refused = runCli('train', [file('second.csv', [...ROWS.slice(100, 200), lone]), '--merge'], dbPath);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('second.csv:102: column "params.velRMS.x": sensor "NEW0001" (first seen here) has no model yet');
    expect(storedModels(dbPath)).toEqual(before);
  });
});

describeWithPostgres('npm run train -- --merge, several trainers into one PostgreSQL at once', (adminUrl) => {
  it('three concurrent merges of disjoint parts of a file equal training the whole', async () => {
    const directory = makeTempDir();
    const database = await createTestDatabase(adminUrl(), 'trainmerge');
    try {
      // Rows dealt out in turn: every sensor is in every part, so the trainers race on every model.
      const parts = [0, 1, 2].map((part) => {
        const path = join(directory, `part-${part}.csv`);
        writeFileSync(path, `${[HEADER, ...ROWS.filter((_, i) => i % 3 === part)].join('\n')}\n`);
        return path;
      });
      const runs = parts.map((path) => {
        const child = spawn(process.execPath, [join(__dirname, '../../dist/bin/train.js'), path, '--merge', '--threads', '1'], {
          env: { PATH: process.env.PATH, DATABASE_URL: database.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        return once(child, 'exit').then(([code]) => ({ code: code as number, stderr }));
      });
      expect(await Promise.all(runs)).toEqual(parts.map(() => ({ code: 0, stderr: '' })));

      const client = new Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<StoredModel>('SELECT sensor_id, metric, mean, std, n::float8 AS n, version::float8 AS version FROM weights ORDER BY sensor_id, metric');
        expectStatisticsOfWholeFile(rows);
        expect(rows.every((model) => model.version === 3)).toBe(true);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
      rmSync(directory, { recursive: true, force: true });
    }
  }, 120_000);
});
