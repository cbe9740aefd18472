import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { Weights } from '../../src/domain/weights';
import { openSqliteDatabase, SCHEMA_VERSION } from '../../src/infrastructure/sqlite/open-sqlite-database';
import { SqliteWeightsRepository } from '../../src/infrastructure/sqlite/sqlite-weights.repository';
import { UnrepresentableWeightsError } from '../../src/domain/domain-errors';
import { makeTempDir } from '../support/test-app';

describe('the SQLite weights database', () => {
  const directory = makeTempDir();
  const path = join(directory, 'sub', 'sensors.db');
  let db: Database.Database;

  beforeAll(() => {
    db = openSqliteDatabase(path);
  });
  afterAll(() => {
    db.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('is in WAL mode with synchronous=FULL and the current schema version', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  });

  it('opens again without migrating twice, keeping the data', async () => {
    await new SqliteWeightsRepository(db).replace(Sensor.withId('KEEP'), MetricName.DEFAULT, Weights.fromReadings([1, 2]));
    const again = openSqliteDatabase(path);
    try {
      expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(again.prepare("SELECT mean FROM weights WHERE sensor_id = 'KEEP'").get()).toEqual({ mean: 1.5 });
    } finally {
      again.close();
    }
  });

  it('keeps the history append-only', async () => {
    await new SqliteWeightsRepository(db).replace(Sensor.withId('AUDIT'), MetricName.DEFAULT, Weights.fromReadings([1, 2]));
    expect(() => db.prepare('UPDATE weights_history SET mean = 0').run()).toThrow('weights_history is append-only');
    expect(() => db.prepare('DELETE FROM weights_history').run()).toThrow('weights_history is append-only');
  });

  it('refuses an adjust whose mean would overflow to Infinity, and keeps the old model', async () => {
    const repository = new SqliteWeightsRepository(db);
    const sensor = Sensor.withId('HUGE');
    await repository.replace(sensor, MetricName.DEFAULT, Weights.of(1.7e308, 1, 2));
    await expect(repository.scaleMean(sensor, MetricName.DEFAULT, 1.1)).rejects.toThrow(UnrepresentableWeightsError);
    expect((await repository.find(sensor, MetricName.DEFAULT))?.weights.mean).toBe(1.7e308);
    expect(await repository.history(sensor, MetricName.DEFAULT, 10)).toHaveLength(1);
  });

  it('refuses a database written by a newer schema', () => {
    const newer = join(directory, 'newer.db');
    const handle = new Database(newer);
    handle.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    handle.close();
    expect(() => openSqliteDatabase(newer)).toThrow(
      `database schema version ${SCHEMA_VERSION + 1} is newer than this build supports (${SCHEMA_VERSION})`,
    );
  });
});
