import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { IngestReadingsUseCase, type IncomingReading } from '../../src/application/ingest-readings.use-case';
import { ALERT_EVENT_PUBLISHER, type AlertEventPublisher } from '../../src/application/ports/alert-event.publisher';
import { ALERT_STATE_REPOSITORY } from '../../src/application/ports/alert-state.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import type { AlertEvent } from '../../src/domain/alert-event';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { createTestDatabase, testPostgres } from '../support/postgres-server';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, makeTempDir, type TestApp } from '../support/test-app';

const TOKEN = 'active-alerts-token-0123456789';

interface Backend {
  readonly name: string;
  /** Environment for createTestApp (the same database for every app of the test), and a cleanup. */
  open(): Promise<{ env: NodeJS.ProcessEnv; dbPath?: string; close(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite',
  open: async () => {
    const directory = makeTempDir();
    return { env: {}, dbPath: join(directory, 'sensors.db'), close: async () => rmSync(directory, { recursive: true, force: true }) };
  },
};

function postgres(adminUrl: string): Backend {
  return {
    name: 'PostgreSQL',
    open: async () => {
      const database = await createTestDatabase(adminUrl, 'active_alerts');
      return { env: { DATABASE_URL: database.url }, close: () => database.drop() };
    },
  };
}

const server = testPostgres();
const backends: Backend[] = 'url' in server ? [sqlite, postgres(server.url)] : [sqlite];
if ('unavailable' in server) console.warn(`SKIPPED the PostgreSQL half of GET /alerts/active: ${server.unavailable}`);

const VEL_X = MetricName.of('params.velRMS.x');
const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, second, 250));
const reading = (sensorId: string, value: number, second: number, metric = MetricName.DEFAULT): IncomingReading => ({ sensor: Sensor.withId(sensorId), metric, value, at: at(second) });

describe.each(backends)('GET /alerts/active on $name', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  const env = () => ({ ...opened.env, API_TOKEN: TOKEN, API_TOKEN_READS: 'true', ALERT_RAISE_AFTER: '2', ALERT_CLEAR_AFTER: '1' });
  let published: AlertEvent[];
  const start = async () => {
    published = [];
    const recording: AlertEventPublisher = { publish: (event) => void published.push(event) };
    testApp = await createTestApp({
      env: env(),
      ...(opened.dbPath && { dbPath: opened.dbPath }),
      configure: (container) => container.register(ALERT_EVENT_PUBLISHER, { useValue: recording }),
    });
    api = request(testApp.app);
  };
  const authorized = (path: string) => api.get(path).set('Authorization', `Bearer ${TOKEN}`);
  const fit = (path: string, values: number[]) => api.post(path).set('Authorization', `Bearer ${TOKEN}`).send({ values }).expect(200);
  const ingest = (readings: IncomingReading[]) => testApp.container.resolve(IngestReadingsUseCase).execute(readings);

  beforeAll(async () => {
    opened = await backend.open();
    await start();
    // Thresholds by the case's rule, mean + 2 * std: 10 (std 0); 10 + 2 * sqrt(8) (readings 8 and 12, sample std sqrt(8)).
    await fit('/SEN2/fit', [10, 10, 10]);
    await fit('/SEN10/fit', [8, 12]);
    await fit(`/SEN10/fit?metric=${VEL_X.name}`, [10, 10]);
    await fit('/b/fit', [10, 10]);
    await fit('/B/fit', [10, 10]);
    // A sensor named like the route's first segment.
    await fit('/alerts/fit', [10, 10]);
  });
  afterAll(async () => {
    await testApp?.close();
    await opened?.close();
  });

  it('needs the token as every read does (API_TOKEN_READS), and lists nothing before any reading', async () => {
    await api.get('/alerts/active').expect(401).expect('Content-Type', /^application\/problem\+json/);
    const empty = await authorized('/alerts/active').expect(200).expect('Content-Type', /^application\/json/);
    expect(empty.body).toEqual([]);
  });

  it('lists the raised alerts in byte order, debounced as configured, with since, the latest value and threshold', async () => {
    // ALERT_RAISE_AFTER=2: one reading at or above the threshold raises nothing yet.
    expect(await ingest([reading('SEN2', 10, 1), reading('SEN10', 16, 1), reading('b', 11, 1)])).toEqual(['alert', 'alert', 'alert']);
    expect((await authorized('/alerts/active').expect(200)).body).toEqual([]);
    await ingest([
      reading('SEN2', 12.5, 2),
      reading('SEN10', 15.7, 2),
      reading('SEN10', 99, 2, VEL_X),
      reading('SEN10', 98, 3, VEL_X),
      reading('b', 10.5, 3),
      reading('B', 11, 3),
      reading('alerts', 12, 3),
      reading('alerts', 13, 4),
      reading('NOMODEL', 1e9, 4),
    ]);
    expect(published.map(({ sensorId, metric, state }) => `${sensorId}/${metric} ${state}`)).toEqual([
      'SEN2/value raised',
      'SEN10/value raised',
      'SEN10/params.velRMS.x raised',
      'b/value raised',
      'alerts/value raised',
    ]);
    expect((await authorized('/alerts/active').expect(200)).body).toEqual([
      { sensor_id: 'SEN10', metric: 'params.velRMS.x', since: '2026-11-30T12:00:03.250Z', last_value: 98, threshold: 10 },
      { sensor_id: 'SEN10', metric: 'value', since: '2026-11-30T12:00:02.250Z', last_value: 15.7, threshold: 10 + 2 * Math.sqrt(8) },
      { sensor_id: 'SEN2', metric: 'value', since: '2026-11-30T12:00:02.250Z', last_value: 12.5, threshold: 10 },
      { sensor_id: 'alerts', metric: 'value', since: '2026-11-30T12:00:04.250Z', last_value: 13, threshold: 10 },
      { sensor_id: 'b', metric: 'value', since: '2026-11-30T12:00:03.250Z', last_value: 10.5, threshold: 10 },
    ]);
    // The sensor "alerts" keeps its own routes.
    expect((await authorized('/alerts/alerts?value=9').expect(200)).body).toEqual({ value: false });
    expect((await authorized('/alerts/weights').expect(200)).body).toMatchObject({ sensor_id: 'alerts', mean: 10 });
  });

  it('clears with ALERT_CLEAR_AFTER=1, and keeps the rest across a restart', async () => {
    await ingest([reading('b', 9, 5), reading('SEN2', 9.5, 5)]);
    await testApp.close();
    await start();
    expect((await authorized('/alerts/active').expect(200)).body.map(({ sensor_id, metric }: { sensor_id: string; metric: string }) => `${sensor_id}/${metric}`)).toEqual([
      'SEN10/params.velRMS.x',
      'SEN10/value',
      'alerts/value',
    ]);
    // Not raised again after the restart: the next reading above is no transition.
    expect(await ingest([reading('alerts', 14, 6)])).toEqual(['alert']);
    expect(published).toEqual([]);
    expect((await authorized('/alerts/active').expect(200)).body).toContainEqual({ sensor_id: 'alerts', metric: 'value', since: '2026-11-30T12:00:04.250Z', last_value: 14, threshold: 10 });
  });

  it('forgets the alert of a deleted model: published as cleared, off the list, and the model fitted again starts cleared', async () => {
    const deleted = await api.delete(`/SEN10/weights?metric=${VEL_X.name}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
    // Raised at 12:00:03 with 99 then 98 (threshold 10, std 0): its sinks hear that it is over.
    expect(published).toEqual([
      { sensorId: 'SEN10', metric: VEL_X.name, state: 'cleared', value: 98, threshold: 10, mean: 10, std: 0, zScore: null, at: new Date(deleted.body.deleted_at), reason: 'model_deleted' },
    ]);
    published.length = 0;
    expect((await authorized('/alerts/active').expect(200)).body.map(({ sensor_id, metric }: { sensor_id: string; metric: string }) => `${sensor_id}/${metric}`)).toEqual([
      'SEN10/value',
      'alerts/value',
    ]);
    expect(await ingest([reading('SEN10', 99, 7, VEL_X)])).toEqual(['unscored']);
    await fit(`/SEN10/fit?metric=${VEL_X.name}`, [10, 10]);
    // Raised before the deletion, it would still be raised; cleared, one reading above raises nothing yet (ALERT_RAISE_AFTER=2).
    expect(await ingest([reading('SEN10', 99, 8, VEL_X)])).toEqual(['alert']);
    expect(published).toEqual([]);
    expect((await authorized('/alerts/active').expect(200)).body).toHaveLength(2);
    expect(await ingest([reading('SEN10', 98, 9, VEL_X)])).toEqual(['alert']);
    expect(published.map(({ sensorId, metric, state }) => `${sensorId}/${metric} ${state}`)).toEqual(['SEN10/params.velRMS.x raised']);
  });

  it('is its own route: no query parameters, GET only, no trailing slash', async () => {
    const unknown = await authorized('/alerts/active?value=1').expect(400).expect('Content-Type', /^application\/problem\+json/);
    expect(withoutRequestId(unknown.body)).toMatchObject({ status: 400, errors: [{ parameter: 'value', detail: 'Unknown query parameter; this route takes no query parameters' }] });
    await api.post('/alerts/active').set('Authorization', `Bearer ${TOKEN}`).expect(405).expect('Allow', 'GET, HEAD, OPTIONS');
    await authorized('/alerts/active/').expect(404);
  });
});

describe('GET /alerts/active when the storage cannot serve', () => {
  let testApp: TestApp;
  afterAll(() => testApp?.close());

  it('answers 503 problem+json', async () => {
    testApp = await createTestApp({
      configure: (container) =>
        container.register(ALERT_STATE_REPOSITORY, {
          useValue: { advance: () => Promise.reject(new StorageUnavailableError('x')), listActive: () => Promise.reject(new StorageUnavailableError('database is locked (SQLITE_BUSY)')) },
        }),
    });
    const response = await request(testApp.app).get('/alerts/active').expect(503).expect('Content-Type', /^application\/problem\+json/);
    expect(withoutRequestId(response.body)).toMatchObject({ status: 503, detail: 'The weights database cannot take this request now: database is locked (SQLITE_BUSY).' });
  });
});
