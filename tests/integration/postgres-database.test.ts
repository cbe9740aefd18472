import { Client, type Pool } from 'pg';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { Weights } from '../../src/domain/weights';
import { openPostgresPool, POSTGRES_SCHEMA_VERSION } from '../../src/infrastructure/postgres/open-postgres-pool';
import { PostgresWeightsRepository } from '../../src/infrastructure/postgres/postgres-weights.repository';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';

describeWithPostgres('the PostgreSQL weights database', (adminUrl) => {
  let database: TestDatabase;
  const pools: Pool[] = [];
  const open = async (url = database.url, lockTimeoutMs?: number) => {
    const pool = await openPostgresPool(url, lockTimeoutMs === undefined ? {} : { lockTimeoutMs });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'schema');
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await database?.drop();
  });

  it('migrates a fresh database exactly once when several processes open it at the same time', async () => {
    const opened = await Promise.all(Array.from({ length: 4 }, () => open()));
    const { rows } = await opened[0]!.query('SELECT version FROM weights_schema');
    expect(rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
  });

  it('opens again without migrating twice, keeping the data', async () => {
    await new PostgresWeightsRepository(await open()).replace(Sensor.withId('KEEP'), MetricName.DEFAULT, Weights.fromReadings([1, 2]));
    const again = await open();
    expect((await again.query("SELECT mean, n, version FROM weights WHERE sensor_id = 'KEEP'")).rows).toEqual([{ mean: 1.5, n: 2, version: 1 }]);
    expect((await again.query('SELECT count(*) AS count FROM weights_schema')).rows).toEqual([{ count: 1 }]);
  });

  it('with a lock timeout of 0, a write to a row another transaction holds fails at once (503) instead of waiting', async () => {
    const repository = new PostgresWeightsRepository(await open(database.url, 0));
    const sensor = Sensor.withId('LOCKED');
    await repository.replace(sensor, MetricName.DEFAULT, Weights.fromReadings([1, 2]));
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT * FROM weights WHERE sensor_id = 'LOCKED' FOR UPDATE");
      const refused = await repository.scaleMean(sensor, MetricName.DEFAULT, 1.1).catch((error: unknown) => error);
      expect((refused as Error).name).toBe(StorageUnavailableError.name);
      expect((refused as Error).message).toBe('The weights database cannot take this request now: canceling statement due to lock timeout (55P03).');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await repository.find(sensor, MetricName.DEFAULT))?.version).toBe(1);
  });

  it('refuses to truncate the history', async () => {
    const pool = await open();
    await expect(pool.query('TRUNCATE weights_history')).rejects.toThrow('weights_history is append-only');
  });

  it('refuses a database written by a newer schema', async () => {
    const newer = await createTestDatabase(adminUrl(), 'newer');
    try {
      const client = new Client({ connectionString: newer.url });
      await client.connect();
      await client.query(`CREATE TABLE weights_schema (version INTEGER NOT NULL); INSERT INTO weights_schema VALUES (${POSTGRES_SCHEMA_VERSION + 1})`);
      await client.end();
      await expect(openPostgresPool(newer.url)).rejects.toThrow(
        `database schema version ${POSTGRES_SCHEMA_VERSION + 1} is newer than this build supports (${POSTGRES_SCHEMA_VERSION})`,
      );
    } finally {
      await newer.drop();
    }
  });
});
