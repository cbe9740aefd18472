import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { IdempotencyScope, IdempotencyStore } from '../../src/application/ports/idempotency.store';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from '../../src/application/ports/weights.repository';
import type { MetricName } from '../../src/domain/metric-name';
import type { Moments } from '../../src/domain/readings-accumulator';
import type { Sensor } from '../../src/domain/sensor';
import { openPostgresPool } from '../../src/infrastructure/postgres/open-postgres-pool';
import { PostgresIdempotencyStore } from '../../src/infrastructure/postgres/postgres-idempotency.store';
import { openSqliteDatabase } from '../../src/infrastructure/sqlite/open-sqlite-database';
import { SqliteIdempotencyStore } from '../../src/infrastructure/sqlite/sqlite-idempotency.store';
import { createTestDatabase, testPostgres, type TestDatabase } from '../support/postgres-server';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, makeTempDir, type TestApp } from '../support/test-app';

const DAY_MS = 24 * 60 * 60 * 1000;

interface Backend {
  readonly name: string;
  /** Environment for createTestApp, and a cleanup. */
  open(): Promise<{ env: NodeJS.ProcessEnv; close(): Promise<void> }>;
  /** The store alone, over a fresh database. */
  store(): Promise<{ store: IdempotencyStore; close(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite',
  open: async () => ({ env: {}, close: async () => undefined }),
  store: async () => {
    const directory = makeTempDir();
    const db = openSqliteDatabase(join(directory, 'keys.db'));
    return {
      store: new SqliteIdempotencyStore(db),
      close: async () => {
        db.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  },
};

function postgres(adminUrl: string): Backend {
  return {
    name: 'PostgreSQL',
    open: async () => {
      const database = await createTestDatabase(adminUrl, 'idempotency');
      return { env: { DATABASE_URL: database.url }, close: () => database.drop() };
    },
    store: async () => {
      const database: TestDatabase = await createTestDatabase(adminUrl, 'idempotency_store');
      const pool = await openPostgresPool(database.url);
      return {
        store: new PostgresIdempotencyStore(pool),
        close: async () => {
          await pool.end();
          await database.drop();
        },
      };
    },
  };
}

const server = testPostgres();
const backends: Backend[] = 'url' in server ? [sqlite, postgres(server.url)] : [sqlite];
if ('unavailable' in server) console.warn(`SKIPPED the PostgreSQL half of the Idempotency-Key tests: ${server.unavailable}`);

describe.each(backends)('Idempotency-Key on $name', (backend) => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  let closeBackend: () => Promise<void>;
  // Merges into sensor SLOW say they started, then wait for the gate: a request held in flight.
  let openGate: () => void = () => undefined;
  let gate = Promise.resolve();
  let started: () => void = () => undefined;

  beforeAll(async () => {
    const opened = await backend.open();
    closeBackend = () => opened.close();
    testApp = await createTestApp({
      env: opened.env,
      configure: (container) => {
        const real = container.resolve<WeightsRepository>(WEIGHTS_REPOSITORY);
        const slow: WeightsRepository = Object.assign(Object.create(real) as WeightsRepository, {
          merge: async (sensor: Sensor, metric: MetricName, readings: Moments) => {
            if (sensor.id === 'SLOW') {
              started();
              await gate;
            }
            return real.merge(sensor, metric, readings);
          },
        });
        container.register(WEIGHTS_REPOSITORY, { useValue: slow });
      },
    });
    api = request(testApp.app);
  });
  afterAll(async () => {
    await testApp.close();
    await closeBackend();
  });

  const post = (path: string, key: string | undefined, body?: unknown) => {
    const call = api.post(path);
    if (key !== undefined) call.set('Idempotency-Key', key);
    return body === undefined ? call : call.send(body as object);
  };
  const stored = async (id: string, query = '') => (await api.get(`/${id}/weights${query}`).expect(200)).body;
  const historyLength = async (id: string) => ((await api.get(`/${id}/weights/history`).expect(200)).body as unknown[]).length;

  it('a retried update gets the first answer and counts its readings once', async () => {
    await post('/IDEM01/fit', 'fit-1', { values: [10, 5, 6, 9] }).expect(200);
    const first = await post('/IDEM01/update', 'update-1', { values: [12] }).expect(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    for (let retry = 0; retry < 3; retry++) {
      const again = await post('/IDEM01/update', 'update-1', { values: [12] }).expect(200).expect('Content-Type', /^application\/json/);
      expect(again.body).toEqual(first.body);
      // Said apart from the first answer, for clients and logs.
      expect(again.headers['idempotent-replayed']).toBe('true');
    }
    expect(first.body).toMatchObject({ n: 5, mean: 8.4, version: 2 });
    expect(await stored('IDEM01')).toEqual(first.body);
    expect(await historyLength('IDEM01')).toBe(2);
  });

  it('makes fit, adjust and rollback idempotent too; an adjust without a body is the same as one with {}', async () => {
    const fitted = await post('/IDEM02/fit', 'k-fit', { values: [10, 5, 6, 9] }).expect(200);
    expect((await post('/IDEM02/fit', 'k-fit', { values: [10, 5, 6, 9] }).expect(200)).body).toEqual(fitted.body);
    const adjusted = await post('/IDEM02/adjust', 'k-adjust').expect(200);
    expect((await post('/IDEM02/adjust', 'k-adjust', {}).expect(200)).body).toEqual(adjusted.body);
    expect((await post('/IDEM02/adjust', 'k-adjust').expect(200)).body).toEqual(adjusted.body);
    expect(adjusted.body).toMatchObject({ mean: 8.25, adjustment: 1.1, version: 2 });
    const rolledBack = await post('/IDEM02/rollback', 'k-rollback', { version: 1 }).expect(200);
    expect((await post('/IDEM02/rollback', 'k-rollback', { version: 1 }).expect(200)).body).toEqual(rolledBack.body);
    expect(await stored('IDEM02')).toEqual(rolledBack.body);
    expect(await historyLength('IDEM02')).toBe(3);
  });

  it('answers 422 to the same key with another body, and changes nothing', async () => {
    const first = await post('/IDEM03/fit', 'reused', { values: [1, 2] }).expect(200);
    const refused = await post('/IDEM03/fit', 'reused', { values: [1, 3] }).expect(422).expect('Content-Type', /^application\/problem\+json/);
    expect(withoutRequestId(refused.body)).toEqual({
      type: 'urn:sensor-alerts:problem:idempotency-key-reused',
      title: 'Idempotency-Key reused',
      status: 422,
      detail: 'This Idempotency-Key was sent with another request body to this route and model: use a new key for a new request.',
    });
    expect(await stored('IDEM03')).toEqual(first.body);
  });

  it('scopes keys per route and model', async () => {
    await post('/IDEM04/fit', 'shared', { values: [1, 2] }).expect(200);
    await post('/IDEM04/fit?metric=temp', 'shared', { values: [3, 5] }).expect(200);
    await post('/IDEM05/fit', 'shared', { values: [7, 9] }).expect(200);
    await post('/IDEM04/update', 'shared', { values: [3] }).expect(200);
    expect(await stored('IDEM04')).toMatchObject({ mean: 2, n: 3, version: 2 });
    expect(await stored('IDEM04', '?metric=temp')).toMatchObject({ mean: 4, n: 2, version: 1 });
    expect(await stored('IDEM05')).toMatchObject({ mean: 8, n: 2, version: 1 });
  });

  it('forgets the key of a request that failed: its retry runs again', async () => {
    await post('/IDEM06/adjust', 'after-404').expect(404);
    await post('/IDEM06/fit', 'bad-body', { values: [1] }).expect(422);
    await post('/IDEM06/fit', 'bad-body', { values: [1, 2] }).expect(200);
    expect((await post('/IDEM06/adjust', 'after-404').expect(200)).body).toMatchObject({ mean: 1.5 * 1.1, version: 2 });
  });

  it('answers 409 to a retry while the first request is in flight, then the first answer', async () => {
    await post('/SLOW/fit', undefined, { values: [1, 2] }).expect(200);
    gate = new Promise<void>((resolve) => (openGate = resolve));
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    const first = post('/SLOW/update', 'slow-1', { values: [3] }).then((response) => response);
    // The first request is in the repository, so it has claimed its key.
    await inHandler;
    const conflict = await post('/SLOW/update', 'slow-1', { values: [3] }).expect(409);
    expect(withoutRequestId(conflict.body)).toMatchObject({ type: 'urn:sensor-alerts:problem:idempotency-key-in-flight', status: 409 });
    openGate();
    const answered = await first;
    expect(answered.status).toBe(200);
    expect((await post('/SLOW/update', 'slow-1', { values: [3] }).expect(200)).body).toEqual(answered.body);
    expect(await stored('SLOW')).toMatchObject({ n: 3, version: 2 });
  });

  it('runs exactly one of 20 concurrent requests with one key', async () => {
    await post('/IDEM07/fit', undefined, { values: [1, 2] }).expect(200);
    const responses = await Promise.all(Array.from({ length: 20 }, () => post('/IDEM07/update', 'burst', { values: [3] })));
    expect(responses.every((response) => response.status === 200 || response.status === 409)).toBe(true);
    const answers = responses.filter((response) => response.status === 200).map((response) => response.body);
    expect(answers.length).toBeGreaterThanOrEqual(1);
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(await stored('IDEM07')).toMatchObject({ n: 3, version: 2 });
  });

  it('refuses a malformed key with 400, changing nothing', async () => {
    await post('/IDEM08/fit', 'x'.repeat(256), { values: [1, 2] }).expect(400);
    await post('/IDEM08/fit', 'with space', { values: [1, 2] }).expect(400);
    // Sent twice: Node would join them as "k1, k2"; the answer says what happened.
    const twice = await api.post('/IDEM08/fit').set('Idempotency-Key', ['k1', 'k2'] as unknown as string).send({ values: [1, 2] }).expect(400);
    expect(twice.body).toMatchObject({ detail: 'The Idempotency-Key header is sent more than once: send it once.' });
    await api.get('/IDEM08/weights').expect(404);
  });

  it('keeps keys 24 hours: a replay before, a new request after', async () => {
    const opened = await backend.store();
    const store = opened.store;
    try {
      const scope: IdempotencyScope = { route: 'update', sensorId: 'S1', metric: 'value', key: 'k' };
      const start = new Date('2026-11-30T00:00:00.000Z');
      expect(await store.claim(scope, 'f1', start)).toEqual({ outcome: 'claimed' });
      expect(await store.claim(scope, 'f1', start)).toEqual({ outcome: 'in-flight' });
      await store.complete(scope, { status: 200, body: '{"n":3}' });
      expect(await store.claim(scope, 'f1', new Date(start.getTime() + DAY_MS - 1))).toEqual({ outcome: 'replay', answer: { status: 200, body: '{"n":3}' } });
      expect(await store.claim(scope, 'f2', new Date(start.getTime() + DAY_MS - 1))).toEqual({ outcome: 'other-request' });
      expect(await store.claim({ ...scope, route: 'fit' }, 'f2', start)).toEqual({ outcome: 'claimed' });
      expect(await store.claim(scope, 'f2', new Date(start.getTime() + DAY_MS))).toEqual({ outcome: 'claimed' });
      await store.release(scope);
      expect(await store.claim(scope, 'f3', new Date(start.getTime() + DAY_MS))).toEqual({ outcome: 'claimed' });
    } finally {
      await opened.close();
    }
  });
});

it('stores keys in the SQLite file beside the models', async () => {
  const testApp = await createTestApp();
  try {
    await request(testApp.app).post('/FILE01/fit').set('Idempotency-Key', 'in-the-file').send({ values: [1, 2] }).expect(200);
    const db = new Database(testApp.dbPath, { readonly: true });
    try {
      expect(db.prepare('SELECT route, sensor_id, metric, key, status FROM idempotency_keys').all()).toEqual([
        { route: 'fit', sensor_id: 'FILE01', metric: 'value', key: 'in-the-file', status: 200 },
      ]);
    } finally {
      db.close();
    }
  } finally {
    await testApp.close();
  }
});
