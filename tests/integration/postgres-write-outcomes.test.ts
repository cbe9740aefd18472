import { Client } from 'pg';
import request from 'supertest';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { withoutRequestId } from '../support/problem-body';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay';
import { createTestApp, type TestApp } from '../support/test-app';

// What a write answers when PostgreSQL stops answering it part-way, and what its
// Idempotency-Key then lets a retry do: a write answered 503 was not applied, or says that
// nobody can know; a retry never applies a write twice.

/** Holds the row lock of a model (SELECT ... FOR UPDATE in an open transaction) until released. */
async function lockModel(url: string, sensorId: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query("SELECT * FROM weights WHERE sensor_id = $1 AND metric = 'value' FOR UPDATE", [sensorId]);
  return {
    release: async () => {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

async function adminQuery<T extends object>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Waits until one of our sessions waits for a lock, and returns its pid. */
async function waitingBackend(url: string, database: string): Promise<number> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const rows = await adminQuery<{ pid: number }>(url, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND application_name = 'sensor-alerts'", [database]);
    if (rows[0]) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no session of the service waits for a lock');
}

describeWithPostgres('writes whose PostgreSQL connection is cut while they wait for a row lock (server process)', (adminUrl) => {
  let database: TestDatabase;
  let server: ServerProcess;
  let url: string;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'cutwrite');
    server = spawnServer({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', DB_BUSY_TIMEOUT_MS: '20000' });
    url = await waitForListening(server);
    await request(url).post('/CUT01/fit').send({ values: [1, 2, 3] }).expect(200);
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await database?.drop();
  });

  it.each([
    ['update', { values: [3] }],
    ['rollback', { version: 1 }],
  ])('%s: a backend terminated mid-transaction is a 503, and the process keeps serving', async (route, body) => {
    const before = (await request(url).get('/CUT01/weights').expect(200)).body as { version: number };
    const lock = await lockModel(database.url, 'CUT01');
    const answer = request(url).post(`/CUT01/${route}`).send(body).then((response) => response);
    const pid = await waitingBackend(adminUrl(), new URL(database.url).pathname.slice(1));
    await adminQuery(adminUrl(), 'SELECT pg_terminate_backend($1)', [pid]);
    const response = await answer;
    await lock.release();
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(withoutRequestId(response.body)).toMatchObject({ type: 'urn:sensor-alerts:problem:storage-unavailable', status: 503 });
    expect(server.child.exitCode).toBeNull();
    await request(url).get('/health').expect(200);
    // Rolled back with its connection: the model is as it was, and the write can be sent again.
    expect((await request(url).get('/CUT01/weights').expect(200)).body).toEqual(before);
    expect((await request(url).post(`/CUT01/${route}`).send(body).expect(200)).body).toMatchObject({ version: before.version + 1 });
  });
});

describeWithPostgres('a keyed write that outlives REQUEST_TIMEOUT_MS waiting for a row lock', (adminUrl) => {
  let database: TestDatabase;
  let testApp: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'slowwrite');
    // The lock wait (DB_BUSY_TIMEOUT_MS) is longer than a statement may run.
    testApp = await createTestApp({ env: { DATABASE_URL: database.url, REQUEST_TIMEOUT_MS: '800', DB_BUSY_TIMEOUT_MS: '60000' } });
    await request(testApp.app).post('/SLOW01/fit').send({ values: [10, 10] }).expect(200);
  }, 60_000);
  afterAll(async () => {
    await testApp?.close();
    await database?.drop();
  });

  it('is cancelled by the server (503) and not applied, so its retry with the same key applies it once', async () => {
    const api = request(testApp.app);
    const lock = await lockModel(database.url, 'SLOW01');
    const response = await api.post('/SLOW01/adjust').set('Idempotency-Key', 'slow-1').expect(503);
    expect(response.body.detail).toMatch(/^The weights database cannot take this request now: the statement ran past REQUEST_TIMEOUT_MS and the server cancelled it \(57014\)\.$/);
    await lock.release();
    // Had the statement gone on waiting server-side, it would commit now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.get('/SLOW01/weights').expect(200)).body).toMatchObject({ version: 1, mean: 10 });
    expect((await api.post('/SLOW01/adjust').set('Idempotency-Key', 'slow-1').expect(200)).body).toMatchObject({ version: 2, mean: 11 });
    expect((await api.post('/SLOW01/adjust').set('Idempotency-Key', 'slow-1').expect(200)).body).toMatchObject({ version: 2, mean: 11 });
    expect((await api.get('/SLOW01/weights/history').expect(200)).body.map((revision: { change: string }) => revision.change)).toEqual(['adjust', 'fit']);
  });

  it('dates a refit that waited for the row lock after the lock was released, as its version is after the write before it', async () => {
    const api = request(testApp.app);
    const lock = await lockModel(database.url, 'SLOW01');
    const fit = api.post('/SLOW01/fit').send({ values: [1, 2] }).then((response) => response);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const releasedAt = Date.now();
    await lock.release();
    const response = await fit;
    expect(response.status).toBe(200);
    // Milliseconds, from the server's clock: the same machine's.
    expect(Date.parse((response.body as { updated_at: string }).updated_at)).toBeGreaterThanOrEqual(releasedAt - 20);
  });
});

describeWithPostgres('a keyed write whose answer PostgreSQL sends but the network loses', (adminUrl) => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let testApp: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'lostanswer');
    relay = await startTcpRelay(database.url);
    testApp = await createTestApp({ env: { DATABASE_URL: relay.url, REQUEST_TIMEOUT_MS: '500' } });
    await request(testApp.app).post('/LOST01/fit').send({ values: [10, 10] }).expect(200);
  }, 60_000);
  afterAll(async () => {
    relay?.close();
    await testApp?.close();
    await database?.drop();
  });

  it('is a 503 that says its outcome is unknown, and keeps its key: the retry is a 409, never a second adjust', async () => {
    const api = request(testApp.app);
    relay.loseAnswersFrom('UPDATE weights SET mean');
    const response = await api.post('/LOST01/adjust').set('Idempotency-Key', 'lost-1').expect(503);
    expect(response.body.detail).toBe(
      'The weights database cannot take this request now: no answer from the database within REQUEST_TIMEOUT_MS and 1 s. The write was sent before the connection was lost: whether it was applied is unknown.',
    );
    relay.restore();
    // It was applied: the server committed it, only its answer was lost.
    expect((await api.get('/LOST01/weights').expect(200)).body).toMatchObject({ version: 2, mean: 11 });
    const retry = await api.post('/LOST01/adjust').set('Idempotency-Key', 'lost-1').expect(409);
    expect(retry.body.type).toBe('urn:sensor-alerts:problem:idempotency-key-in-flight');
    expect((await api.get('/LOST01/weights').expect(200)).body).toMatchObject({ version: 2, mean: 11 });
    // Without a key, or with a new one, a write runs as usual.
    await api.post('/LOST01/adjust').set('Idempotency-Key', 'lost-2').expect(200);
  });

  it("releases a key whose claim's answer was lost, as nothing ran: a plain 503, then the retry runs, once", async () => {
    const api = request(testApp.app);
    await api.post('/CLAIM01/fit').send({ values: [10, 10] }).expect(200);
    // The claim's INSERT reaches the server and commits; its answer does not come back.
    relay.loseAnswersFrom('INSERT INTO idempotency_keys');
    const response = await api.post('/CLAIM01/adjust').set('Idempotency-Key', 'claim-1').expect(503);
    expect(response.body.detail).not.toMatch(/unknown/);
    relay.restore();
    const statuses: number[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && statuses.at(-1) !== 200; ) {
      statuses.push((await api.post('/CLAIM01/adjust').set('Idempotency-Key', 'claim-1')).status);
      if (statuses.at(-1) === 409) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(statuses.at(-1)).toBe(200);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set(statuses.length > 1 ? [409] : []));
    expect((await api.get('/CLAIM01/weights').expect(200)).body).toMatchObject({ version: 2, mean: 11 });
    await api.post('/CLAIM01/adjust').set('Idempotency-Key', 'claim-1').expect(200).expect('Idempotent-Replayed', 'true');
  }, 20_000);

  it('releases the key of a keyed update that failed while the database was unreachable once it answers again: the retry then runs, once', async () => {
    const api = request(testApp.app);
    await api.post('/REL01/fit').send({ values: [1, 2] }).expect(200);
    // The update's first statement reaches the server; then nothing passes, so the transaction
    // fails (rolled back with its connection) and so does the release of its key.
    relay.silenceFrom('FOR UPDATE OF w');
    await api.post('/REL01/update').set('Idempotency-Key', 'rel-1').send({ values: [3] }).expect(503);
    relay.restore();
    const statuses: number[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && statuses.at(-1) !== 200; ) {
      statuses.push((await api.post('/REL01/update').set('Idempotency-Key', 'rel-1').send({ values: [3] })).status);
      if (statuses.at(-1) === 409) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(statuses.at(-1)).toBe(200);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set(statuses.length > 1 ? [409] : []));
    expect((await api.get('/REL01/weights').expect(200)).body).toMatchObject({ n: 3, mean: 2, version: 2 });
  }, 20_000);
});

describeWithPostgres('shutdown while PostgreSQL does not answer a write (server process)', (adminUrl) => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'hungstop');
    relay = await startTcpRelay(database.url);
    // A statement may run for a minute: only the shutdown's own bounds can end this one sooner.
    server = spawnServer({ DATABASE_URL: relay.url, PORT: '0', HOST: '127.0.0.1', REQUEST_TIMEOUT_MS: '60000' });
    const url = await waitForListening(server);
    await request(url).post('/HUNG01/fit').send({ values: [1, 2] }).expect(200);
    relay.silence();
    void request(url).post('/HUNG01/adjust').then(
      () => undefined,
      () => undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    relay?.close();
    await database?.drop();
  });

  it('exits 0 within the 10 s grace and the 2 s database close, not when the query would time out', async () => {
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(14_000);
    // The request cut off at the grace period is logged as such, with no status: none went out.
    const aborted = server
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"request aborted"'))
      .map((line) => JSON.parse(line) as { res: { status: number | null }; req: { url: string } });
    expect(aborted).toEqual([expect.objectContaining({ res: { status: null }, req: expect.objectContaining({ url: '/HUNG01/adjust' }) as unknown })]);
  }, 20_000);
});

describeWithPostgres('writers queued behind one row lock, and everyone else', (adminUrl) => {
  let database: TestDatabase;
  let testApp: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'queuedwriters');
    // Four connections: three for writes, one for reads and the health check.
    testApp = await createTestApp({ env: { DATABASE_URL: database.url, DATABASE_POOL_MAX: '4', DB_BUSY_TIMEOUT_MS: '3000' } });
    const api = request(testApp.app);
    await api.post('/BUSY01/fit').send({ values: [10, 10] }).expect(200);
    await api.post('/CALM01/fit').send({ values: [1, 3] }).expect(200);
  }, 60_000);
  afterAll(async () => {
    await testApp?.close();
    await database?.drop();
  });

  it("answers /health and other sensors' reads while more writers than connections wait for one model's lock", async () => {
    const api = request(testApp.app);
    const lock = await lockModel(database.url, 'BUSY01');
    let settled = 0;
    const writes = Array.from({ length: 10 }, () =>
      api
        .post('/BUSY01/adjust')
        .then((response) => response.status)
        .finally(() => settled++),
    );
    await waitingBackend(adminUrl(), new URL(database.url).pathname.slice(1));
    await api.get('/health').expect(200);
    expect((await api.get('/CALM01/weights').expect(200)).body).toMatchObject({ mean: 2 });
    expect((await api.post('/CALM01/predict').send({ value: 5 }).expect(200)).body).toBe(true);
    // All of that while every writer still waited.
    expect(settled).toBe(0);
    await lock.release();
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 10 }, () => 200));
  });
});
