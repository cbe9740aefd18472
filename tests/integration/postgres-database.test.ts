import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client, type Pool } from 'pg';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { Weights } from '../../src/domain/weights';
import { openPostgresPool, POSTGRES_SCHEMA_VERSION } from '../../src/infrastructure/postgres/open-postgres-pool';
import { AlertDebounce } from '../../src/domain/alert-debounce';
import { PostgresAlertStateRepository } from '../../src/infrastructure/postgres/postgres-alert-state.repository';
import { PostgresIdempotencyStore } from '../../src/infrastructure/postgres/postgres-idempotency.store';
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
      expect((refused as Error).message).toBe('The weights database cannot take this request now: another write held the model past DB_BUSY_TIMEOUT_MS (lock timeout) (55P03).');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await repository.find(sensor, MetricName.DEFAULT))?.version).toBe(1);
  });

  it('runs two trainings of the same models at once, listed in opposite orders, one after the other instead of deadlocking', async () => {
    // Before their writes were ordered, every round of this refused one of the two (40P01).
    const first = new PostgresWeightsRepository(await open());
    const second = new PostgresWeightsRepository(await open());
    const models = Array.from({ length: 6000 }, (_, index) => ({ sensor: Sensor.withId(`ORDER${String(index).padStart(4, '0')}`), metric: MetricName.DEFAULT, weights: Weights.of(index, 1, 2) }));
    for (let round = 0; round < 3; round++) {
      await Promise.all([first.replaceAll(models), second.replaceAll([...models].reverse())]);
    }
    const stored = await first.findMany([models[0]!, models[5999]!]);
    expect(stored.map(({ sensorId, version }) => [sensorId, version])).toEqual([
      ['ORDER0000', 6],
      ['ORDER5999', 6],
    ]);
  });

  describe('a deletion and a batch of live readings of the same model, at the same instant', () => {
    const reading = (sensor: Sensor) => ({ sensor, metric: MetricName.DEFAULT, value: 9, at: new Date(1000), inAlert: true, threshold: 5 });
    /** A transaction on a connection of its own, left open after `statements` ran. */
    async function openTransaction(statements: string[]): Promise<Client> {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      await client.query('BEGIN');
      for (const statement of statements) await client.query(statement);
      return client;
    }
    const settledWithin = (promise: Promise<unknown>, ms: number) => Promise.race([promise.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), ms))]);

    it('the batch waits for the deletion under way, then steps nothing: no state outlives the model', async () => {
      const pool = await open();
      const weights = new PostgresWeightsRepository(pool);
      const sensor = Sensor.withId('RACE-DELETE-FIRST');
      await weights.replace(sensor, MetricName.DEFAULT, Weights.of(3, 1, 2));
      // The deletion's write, not yet committed (remove() takes the same row lock).
      const deletion = await openTransaction([`UPDATE weights SET deleted = true, version = version + 1 WHERE sensor_id = '${sensor.id}'`]);
      const advanced = new PostgresAlertStateRepository(pool).advance([reading(sensor)], new AlertDebounce());
      expect(await settledWithin(advanced, 300)).toBe(false);
      await deletion.query('COMMIT');
      await deletion.end();
      expect(await advanced).toEqual([undefined]);
      expect((await pool.query('SELECT * FROM alert_states WHERE sensor_id = $1', [sensor.id])).rows).toEqual([]);
    });

    it('the deletion waits for the batch under way, then forgets the state it wrote, even a new one, and answers it raised', async () => {
      const pool = await open();
      const weights = new PostgresWeightsRepository(pool);
      const sensor = Sensor.withId('RACE-BATCH-FIRST');
      await weights.replace(sensor, MetricName.DEFAULT, Weights.of(3, 1, 2));
      // The batch's share lock on the model and its first state, not yet committed (advance() takes and writes the same).
      const batch = await openTransaction([
        `SELECT 1 FROM weights WHERE sensor_id = '${sensor.id}' FOR SHARE`,
        `INSERT INTO alert_states (sensor_id, metric, status, pending, since, last_value, threshold, last_at) VALUES ('${sensor.id}', 'value', 'raised', 0, now(), 9, 5, now())`,
      ]);
      const removed = weights.remove(sensor, MetricName.DEFAULT);
      expect(await settledWithin(removed, 300)).toBe(false);
      await batch.query('COMMIT');
      await batch.end();
      expect((await removed)?.raisedAlert).toEqual({ lastValue: 9, threshold: 5 });
      expect((await pool.query('SELECT * FROM alert_states WHERE sensor_id = $1', [sensor.id])).rows).toEqual([]);
    });
  });

  it('refuses to truncate the history', async () => {
    const pool = await open();
    await expect(pool.query('TRUNCATE weights_history')).rejects.toThrow('weights_history is append-only');
  });

  /** Runs `use` with the URL of a new login role given `grants` (SQL run by the owner, `{role}` standing for the role), then drops the role. */
  async function asRole(label: string, grants: string, use: (url: string) => Promise<void>): Promise<void> {
    await open(); // migrated by the owner
    const role = `sensor_alerts_${label}_${process.pid}`;
    const admin = new Client({ connectionString: adminUrl() });
    const owner = new Client({ connectionString: database.url });
    await Promise.all([admin.connect(), owner.connect()]);
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await owner.query(grants.replaceAll('{role}', role));
      await use(Object.assign(new URL(database.url), { username: role, password: '' }).toString());
    } finally {
      await Promise.all(pools.splice(0).map((pool) => pool.end()));
      await owner.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await owner.end();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  }

  it('serves and trains under a role with rights on the tables but none on the schema, once the schema is current', async () => {
    const grants =
      'REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO {role}; ' +
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}';
    await asRole('app', grants, async (url) => {
      const app = await openPostgresPool(url);
      pools.push(app);
      const repository = new PostgresWeightsRepository(app);
      await repository.replace(Sensor.withId('LEAST'), MetricName.DEFAULT, Weights.fromReadings([2, 4]));
      expect((await repository.find(Sensor.withId('LEAST'), MetricName.DEFAULT))?.weights.mean).toBe(3);
      await expect(app.query('CREATE TABLE sneaky (x int)')).rejects.toThrow('permission denied for schema public');
    });
  });

  it('answers a write its role has no right to as storage trouble that only an operator mends (503 without Retry-After), not as a fault of ours', async () => {
    await asRole('reader', 'GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}', async (url) => {
      const reader = await openPostgresPool(url);
      pools.push(reader);
      const refused = await new PostgresWeightsRepository(reader).replace(Sensor.withId('NORIGHT'), MetricName.DEFAULT, Weights.fromReadings([1, 2])).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageUnavailableError);
      expect((refused as StorageUnavailableError).message).toBe(
        'The weights database cannot take this request now: the database role lacks a right this needs (README, "Storage: SQLite or PostgreSQL": the rights a role needs) (42501).',
      );
      expect((refused as StorageUnavailableError).retryable).toBe(false);
      // The Idempotency-Key records, the first write of a keyed request, the same way.
      const scope = { route: 'adjust', sensorId: 'NORIGHT', metric: 'value', key: 'k-1' };
      const claim = await new PostgresIdempotencyStore(reader).claim(scope, 'f', new Date()).catch((error: unknown) => error);
      expect(claim).toBeInstanceOf(StorageUnavailableError);
      expect((claim as StorageUnavailableError).message).toBe(
        'The weights database cannot take this request now: the database role lacks a right this needs (README, "Storage: SQLite or PostgreSQL": the rights a role needs) (42501).',
      );
      expect((claim as StorageUnavailableError).retryable).toBe(false);
    });
  });

  describe('opened read-only (the alerts command)', () => {
    const tables = async (url: string) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map(({ name }) => name);
      } finally {
        await client.end();
      }
    };
    const alerts = (url: string, ...args: string[]) => {
      const child = spawnSync(process.execPath, [join(__dirname, '../../dist/bin/alerts.js'), '--value', '2', ...args], {
        env: { PATH: process.env.PATH, DATABASE_URL: url },
        encoding: 'utf8',
      });
      return { status: child.status, stdout: child.stdout, stderr: child.stderr };
    };

    it('refuses an empty database in one line, exit 1, and creates nothing in it', async () => {
      const empty = await createTestDatabase(adminUrl(), 'read_only_empty');
      try {
        await expect(openPostgresPool(empty.url, { readOnly: true })).rejects.toThrow(
          'holds no weights yet (an empty database, or not one this service wrote): train first, or check DATABASE_URL',
        );
        const result = alerts(empty.url, '--format', 'json');
        expect(result.status).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(/^alerts: cannot open the weights database at postgres.*: holds no weights yet \(an empty database, or not one this service wrote\): train first, or check DATABASE_URL\n$/);
        expect(await tables(empty.url)).toEqual([]);
      } finally {
        await empty.drop();
      }
    });

    it('refuses an older schema instead of migrating it', async () => {
      const older = await createTestDatabase(adminUrl(), 'read_only_older');
      try {
        const client = new Client({ connectionString: older.url });
        await client.connect();
        await client.query(`CREATE TABLE weights_schema (version INTEGER NOT NULL); INSERT INTO weights_schema VALUES (${POSTGRES_SCHEMA_VERSION - 1})`);
        await client.end();
        await expect(openPostgresPool(older.url, { readOnly: true })).rejects.toThrow(
          `database schema version ${POSTGRES_SCHEMA_VERSION - 1} is older than this build's (${POSTGRES_SCHEMA_VERSION}): run train or serve on it once, which upgrades it`,
        );
        expect(await tables(older.url)).toEqual(['weights_schema']);
      } finally {
        await older.drop();
      }
    });

    it('reads the stored weights, and its sessions refuse every write', async () => {
      await new PostgresWeightsRepository(await open()).replace(Sensor.withId('READ'), MetricName.DEFAULT, Weights.fromReadings([1, 3]));
      const reader = await openPostgresPool(database.url, { readOnly: true });
      pools.push(reader);
      expect((await new PostgresWeightsRepository(reader).find(Sensor.withId('READ'), MetricName.DEFAULT))?.weights.mean).toBe(2);
      await expect(reader.query("DELETE FROM weights WHERE sensor_id = 'READ'")).rejects.toThrow('cannot execute DELETE in a read-only transaction');
      // mean 2, std sqrt(2): 2 >= 2 + 2 * 1.414... is false.
      expect(alerts(database.url, '--sensor', 'READ', '--format', 'csv')).toEqual({ status: 0, stdout: 'sensor_id,value\nREAD,false\n', stderr: '' });
    });
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
