import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { AlertStateRepository, ScoredReading } from '../../src/application/ports/alert-state.repository';
import type { WeightsRepository } from '../../src/application/ports/weights.repository';
import { AlertDebounce } from '../../src/domain/alert-debounce';
import { MetricName } from '../../src/domain/metric-name';
import { ReadingsAccumulator } from '../../src/domain/readings-accumulator';
import { Sensor } from '../../src/domain/sensor';
import { openPostgresPool, POSTGRES_SCHEMA_VERSION } from '../../src/infrastructure/postgres/open-postgres-pool';
import { PostgresAlertStateRepository } from '../../src/infrastructure/postgres/postgres-alert-state.repository';
import { PostgresWeightsRepository } from '../../src/infrastructure/postgres/postgres-weights.repository';
import { openSqliteDatabase, SCHEMA_VERSION } from '../../src/infrastructure/sqlite/open-sqlite-database';
import { SqliteAlertStateRepository } from '../../src/infrastructure/sqlite/sqlite-alert-state.repository';
import { SqliteWeightsRepository } from '../../src/infrastructure/sqlite/sqlite-weights.repository';
import type { SchemaMigration } from '../../src/infrastructure/readable-schema';
import { stdRelativeError } from '../support/exact-statistics';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { POSTGRES_SCHEMA_V1, SQLITE_SCHEMA_V1 } from '../support/schema-v1';
import { runCli } from '../support/cli';
import { makeTempDir } from '../support/test-app';

// A version-1 database as the previous release left it: SEN1 fitted on [10, 5, 6, 9] then
// adjusted; SEN2 fitted twice on another metric. Its doubles are what that release stored.
const FIT_STD = Math.sqrt(17 / 3); // the sample std of [10, 5, 6, 9], as a double
const V1_ROWS = {
  weights: [
    ['SEN1', 'value', 7.5 * 1.1, FIT_STD, 4, 2, '2026-11-01T00:00:01.000Z'],
    ['SEN2', 'temp', 2, Math.SQRT2, 2, 2, '2026-11-01T00:00:03.000Z'],
  ],
  history: [
    [1, 'SEN1', 'value', 1, 'fit', 7.5, FIT_STD, 4, '2026-11-01T00:00:00.000Z'],
    [2, 'SEN1', 'value', 2, 'adjust', 7.5 * 1.1, FIT_STD, 4, '2026-11-01T00:00:01.000Z'],
    [3, 'SEN2', 'temp', 1, 'fit', 1, 0, 3, '2026-11-01T00:00:02.000Z'],
    [4, 'SEN2', 'temp', 2, 'fit', 2, Math.SQRT2, 2, '2026-11-01T00:00:03.000Z'],
  ],
} as const;

function moments(readings: readonly number[]) {
  const accumulator = new ReadingsAccumulator();
  for (const reading of readings) accumulator.add(reading);
  return accumulator.moments();
}

/** What the migration must keep, and what the new operations must do over kept rows. */
function upgradedDatabaseBehaves(repository: () => WeightsRepository): void {
  const sen1 = Sensor.withId('SEN1');
  const sen2 = Sensor.withId('SEN2');
  const temp = MetricName.of('temp');

  it('keeps every model and its whole history, with adjustment 1', async () => {
    expect(await repository().find(sen1, MetricName.DEFAULT)).toMatchObject({
      version: 2,
      updatedAt: new Date('2026-11-01T00:00:01.000Z'),
      weights: { mean: 7.5 * 1.1, std: FIT_STD, n: 4, adjustment: 1 },
    });
    expect(await repository().find(sen2, temp)).toMatchObject({ version: 2, weights: { mean: 2, std: Math.SQRT2, n: 2, adjustment: 1 } });
    const history = await repository().history(sen1, MetricName.DEFAULT, 10);
    expect(history.map((revision) => [revision.version, revision.change, revision.weights.mean, revision.recordedAt.toISOString()])).toEqual([
      [2, 'adjust', 7.5 * 1.1, '2026-11-01T00:00:01.000Z'],
      [1, 'fit', 7.5, '2026-11-01T00:00:00.000Z'],
    ]);
    expect(await repository().history(sen2, temp, 10)).toHaveLength(2);
  });

  it('merges into an old model as exactly as its stored doubles allow', async () => {
    // SEN2's [1, 3] (mean 2, std sqrt 2) plus [5]: exactly the statistics of [1, 3, 5].
    const updated = await repository().merge(sen2, temp, moments([5]));
    expect(updated).toMatchObject({ version: 3, weights: { mean: 3, n: 3, adjustment: 1 } });
    expect(stdRelativeError(updated.weights.std, [1, 3, 5])).toBeLessThanOrEqual(1e-13);
    // SEN1's adjusted mean, 8.25, is read as learned (factor 1): sum 33, M2 = FIT_STD^2 * 3 (17).
    // Adding 12: sum 45, mean 9; M2 = 17 + 3.75^2 * 4 * 1 / 5 = 28.25, variance 28.25 / 4.
    const merged = await repository().merge(sen1, MetricName.DEFAULT, moments([12]));
    expect(merged.weights.mean).toBe(9);
    expect(Math.abs(merged.weights.std - Math.sqrt(28.25 / 4)) / Math.sqrt(28.25 / 4)).toBeLessThan(1e-14);
    expect(merged.weights.n).toBe(5);
  });

  it('rolls back to a revision written before the migration', async () => {
    const restored = await repository().rollback(sen1, MetricName.DEFAULT, 1);
    expect(restored).toMatchObject({ version: 4, weights: { mean: 7.5, std: FIT_STD, n: 4, adjustment: 1 } });
    expect((await repository().history(sen1, MetricName.DEFAULT, 10)).map((revision) => revision.change)).toEqual(['rollback', 'update', 'adjust', 'fit']);
  });

  it('deletes an old model, keeping its history, and restores it by rollback (schema 4)', async () => {
    expect(await repository().remove(sen2, temp)).toMatchObject({ version: 4, weights: { mean: 3, n: 3 } });
    expect(await repository().find(sen2, temp)).toBeUndefined();
    expect((await repository().list()).map((model) => model.sensorId)).toEqual(['SEN1']);
    expect((await repository().history(sen2, temp, 10)).map((revision) => [revision.version, revision.change])).toEqual([
      [4, 'delete'],
      [3, 'update'],
      [2, 'fit'],
      [1, 'fit'],
    ]);
    expect(await repository().rollback(sen2, temp, 1)).toMatchObject({ version: 5, weights: { mean: 1, std: 0, n: 3 } });
  });
}

/** Schema 3: the old models' alert states start cleared, and are stepped and kept. */
function upgradedDatabaseKeepsAlertStates(states: () => AlertStateRepository): void {
  it('starts every old model cleared, and keeps the alert states it steps', async () => {
    const reading = (value: number, second: number): ScoredReading => ({
      sensor: Sensor.withId('SEN1'),
      metric: MetricName.DEFAULT,
      value,
      at: new Date(Date.UTC(2026, 10, 30, 0, 0, second)),
      inAlert: value >= 12,
      threshold: 12,
    });
    expect(await states().listActive()).toEqual([]);
    expect(await states().advance([reading(11, 1), reading(13, 2), reading(14, 3)], new AlertDebounce())).toEqual([undefined, 'raised', undefined]);
    expect(await states().listActive()).toEqual([{ sensorId: 'SEN1', metric: 'value', since: new Date(Date.UTC(2026, 10, 30, 0, 0, 2)), lastValue: 14, threshold: 12 }]);
  });
}

describe('migrating a version-1 SQLite database in place', () => {
  const directory = makeTempDir();
  const path = join(directory, 'sensors.db');
  let db: Database.Database;
  let repository: SqliteWeightsRepository;
  let migration: SchemaMigration | undefined;

  beforeAll(() => {
    writeSqliteV1(path);
    db = openSqliteDatabase(path, 5000, { onMigrated: (made) => (migration = made) });
    repository = new SqliteWeightsRepository(db);
  });
  afterAll(() => {
    db.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('is at schema version 5, with the history still append-only, an identity drawn, and says it migrated', () => {
    expect(migration).toMatchObject({ from: 1, to: 5 });
    // A second open finds it current: nothing to say.
    migration = undefined;
    openSqliteDatabase(path).close();
    openSqliteDatabase(path, 5000, { onMigrated: (made) => (migration = made) }).close();
    expect(migration).toBeUndefined();
    expect(SCHEMA_VERSION).toBe(5);
    expect(db.pragma('user_version', { simple: true })).toBe(5);
    expect(db.prepare('SELECT id FROM database_identity').pluck().all()).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/)]);
    expect(() => db.prepare('UPDATE weights_history SET mean = 0').run()).toThrow('weights_history is append-only');
    expect(() => db.prepare('DELETE FROM weights_history').run()).toThrow('weights_history is append-only');
    expect(db.prepare('SELECT max(id) AS id FROM weights_history').get()).toEqual({ id: 4 });
  });

  upgradedDatabaseBehaves(() => repository);
  upgradedDatabaseKeepsAlertStates(() => new SqliteAlertStateRepository(db));
});

describe('train on a version-1 SQLite database', () => {
  const directory = makeTempDir();
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('migrates it and says so on stderr, once', () => {
    const path = join(directory, 'trained.db');
    writeSqliteV1(path);
    const csv = join(__dirname, '../../data/collects.csv');
    const first = runCli('train', ['--merge', csv], path);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/^train: migrated the weights database from schema 1 to 5 in \d+ ms\n$/);
    const second = runCli('train', ['--merge', csv], path);
    expect(second.status).toBe(0);
    expect(second.stderr).toBe('');
  });
});

/** A version-1 SQLite file holding V1_ROWS, as the release before the model lifecycle left it. */
function writeSqliteV1(path: string): void {
  const old = new Database(path);
  old.exec(SQLITE_SCHEMA_V1);
  old.pragma('user_version = 1');
  const insertWeights = old.prepare('INSERT INTO weights (sensor_id, metric, mean, std, n, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (const row of V1_ROWS.weights) insertWeights.run(...row);
  const insertRevision = old.prepare('INSERT INTO weights_history (id, sensor_id, metric, version, change, mean, std, n, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (const row of V1_ROWS.history) insertRevision.run(...row);
  old.close();
}

describeWithPostgres('migrating a version-1 PostgreSQL database in place', (adminUrl) => {
  let database: TestDatabase;
  let pool: Awaited<ReturnType<typeof openPostgresPool>>;
  let repository: PostgresWeightsRepository;
  let migration: SchemaMigration | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'migration');
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(POSTGRES_SCHEMA_V1);
      await client.query('CREATE TABLE weights_schema (version INTEGER NOT NULL); INSERT INTO weights_schema VALUES (1)');
      for (const row of V1_ROWS.weights) {
        await client.query('INSERT INTO weights (sensor_id, metric, mean, std, n, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [...row]);
      }
      for (const [, ...row] of V1_ROWS.history) {
        await client.query('INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [...row]);
      }
    } finally {
      await client.end();
    }
    pool = await openPostgresPool(database.url, { onMigrated: (made) => (migration = made) });
    repository = new PostgresWeightsRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('is at schema version 5, with the history still append-only, an identity drawn, and says it migrated', async () => {
    expect(migration).toMatchObject({ from: 1, to: 5 });
    expect(POSTGRES_SCHEMA_VERSION).toBe(5);
    expect((await pool.query('SELECT version FROM weights_schema')).rows).toEqual([{ version: 5 }]);
    expect((await pool.query('SELECT id FROM database_identity')).rows).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
    await expect(pool.query('UPDATE weights_history SET mean = 0')).rejects.toThrow('weights_history is append-only');
  });

  upgradedDatabaseBehaves(() => repository);
  upgradedDatabaseKeepsAlertStates(() => new PostgresAlertStateRepository(pool));
});
