import request from 'supertest';
import { findPostgresBinaries, startPostgresCluster, type PostgresCluster } from '../../scripts/postgres-cluster';
import { createTestDatabase, describeWithPostgres, testPostgres, type TestDatabase } from '../support/postgres-server';
import { PinoLogger } from '../../src/infrastructure/logging/pino-logger';
import { withoutRequestId } from '../support/problem-body';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay';
import { createTestApp, type TestApp } from '../support/test-app';

// Its own cluster, since stopping the run's shared one would break the other files.
const binaries = findPostgresBinaries();
const describeOutage = binaries && !('unavailable' in testPostgres()) ? describe : describe.skip;
if (!binaries) console.warn('SKIPPED the PostgreSQL outage test: no PostgreSQL binaries to start a server of its own');

describeOutage('the API while its PostgreSQL server stops and comes back', () => {
  let cluster: PostgresCluster;
  let testApp: TestApp;
  const logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    const capture = { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) };
    testApp = await createTestApp({
      env: { DATABASE_URL: cluster.url },
      configure: (container) => container.register(PinoLogger, { useValue: new PinoLogger('info', 'json', capture) }),
    });
    await request(testApp.app).post('/OUT01/fit').send({ values: [10, 5, 6, 9] }).expect(200);
  }, 60_000);
  afterAll(async () => {
    await testApp?.close();
    await cluster?.stop();
  });

  it('answers 503 problem+json while the server is down, without crashing on its dropped connections', async () => {
    await cluster.pause();
    const api = request(testApp.app);
    for (const call of [api.post('/OUT01/fit').send({ values: [1, 2] }), api.post('/OUT01/adjust'), api.get('/OUT01/weights')]) {
      const response = await call.expect(503).expect('Content-Type', /^application\/problem\+json/).expect('Retry-After', '1');
      expect(withoutRequestId(response.body)).toMatchObject({ type: 'urn:sensor-alerts:problem:storage-unavailable', status: 503 });
      expect(response.body.detail).toMatch(/^The weights database cannot take this request now: /);
      expect(response.text).not.toContain('127.0.0.1');
    }
    await api.get('/health').expect(503);
    // The pool's idle connections were cut too: said in the log, never a crash.
    const idleLost = () => logLines.filter((line) => line.msg === 'weights database connection lost while idle; it will be replaced');
    while (idleLost().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(idleLost()[0]).toMatchObject({ level: 'warn', error: expect.stringMatching(/terminat/) });
  });

  it('serves again, with nothing lost, once the server is back', async () => {
    await cluster.resume();
    const api = request(testApp.app);
    await api.get('/health').expect(200);
    expect((await api.post('/OUT01/adjust').expect(200)).body).toMatchObject({ mean: 8.25, version: 2 });
    expect((await api.get('/OUT01/weights/history').expect(200)).body).toHaveLength(2);
  });
});

describeWithPostgres('the API while the network to PostgreSQL stops answering', (adminUrl) => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let testApp: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'silent');
    // In front of the database, a relay that can go silent.
    relay = await startTcpRelay(database.url);
    testApp = await createTestApp({ env: { DATABASE_URL: relay.url, REQUEST_TIMEOUT_MS: '500' } });
    await request(testApp.app).post('/SILENT01/fit').send({ values: [10, 5, 6, 9] }).expect(200);
    // A connection of the reads' pool, open before the network goes silent.
    await request(testApp.app).get('/SILENT01/weights').expect(200);
  }, 60_000);
  afterAll(async () => {
    relay?.close();
    await testApp?.close();
    await database?.drop();
  });

  it('answers 503 once a query has gone unanswered for REQUEST_TIMEOUT_MS (and 1 s), instead of hanging', async () => {
    relay.silence();
    const response = await request(testApp.app).get('/SILENT01/weights').expect(503).expect('Content-Type', /^application\/problem\+json/);
    expect(withoutRequestId(response.body)).toMatchObject({ type: 'urn:sensor-alerts:problem:storage-unavailable', status: 503 });
    expect(response.body.detail).toBe('The weights database cannot take this request now: no answer from the database within REQUEST_TIMEOUT_MS and 1 s.');
  });
});

