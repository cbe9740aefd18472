import { join } from 'node:path';
import request from 'supertest';
import { TrainSensorsUseCase } from '../../src/application/train-sensors.use-case';
import { VIBRATION_METRICS } from '../../src/domain/vibration-metrics';
import { CsvReadingsSource } from '../../src/infrastructure/csv/csv-readings.source';
import { SEED_ALERT_TABLE_AT_0_09 } from '../support/seed-alert-table';
import { createTestApp, type TestApp } from '../support/test-app';

describe('alerts over HTTP, on weights trained from data/collects.csv', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
    const source = new CsvReadingsSource(join(__dirname, '../../data/collects.csv'), VIBRATION_METRICS);
    await testApp.container.resolve(TrainSensorsUseCase).execute(source);
  });
  afterAll(() => testApp.close());

  it("GET /alerts?value=0.09 answers the draft's in_alert table for every sensor and column", async () => {
    const response = await api.get('/alerts?value=0.09').expect(200).expect('Content-Type', /^application\/json/);
    expect(response.body).toEqual(SEED_ALERT_TABLE_AT_0_09);
    expect(Object.keys(response.body)).toEqual(Object.keys(SEED_ALERT_TABLE_AT_0_09));
  });

  it('GET /{sensor_id}/alerts?value= answers one sensor', async () => {
    const response = await api.get('/IAJ9206/alerts?value=0.09').expect(200);
    expect(response.body).toEqual(SEED_ALERT_TABLE_AT_0_09.IAJ9206);
  });

  it('includes models fitted through the API', async () => {
    await api.post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200);
    const response = await api.get('/alerts?value=20').expect(200);
    expect(response.body.SEN0001).toEqual({ value: true });
    expect(response.body.IAJ9206['params.velRMS.x']).toBe(true);
  });

  it('lets the case routes work on a trained column with ?metric=', async () => {
    const weights = await api.get('/IAJ9206/weights?metric=params.accelRMS.y').expect(200);
    expect(weights.body).toMatchObject({ sensor_id: 'IAJ9206', metric: 'params.accelRMS.y', n: 3986 - 60, version: 1 });
    const predict = await api.post('/IAJ9206/predict?metric=params.accelRMS.y').send({ value: 0.09 }).expect(200);
    expect(predict.body).toBe(false);
    const history = await api.get('/IAJ9206/weights/history?metric=params.accelRMS.y').expect(200);
    expect(history.body).toHaveLength(1);
    expect(history.body[0]).toMatchObject({ change: 'fit', version: 1 });
  });

  it.each([
    ['', 'value: Required: the reading to evaluate, e.g. ?value=0.09'],
    ['?value=', 'value: Empty; give a value, or leave the parameter out'],
    ['?value=+1', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got " 1")'],
    ['?value=%201', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got " 1")'],
    ['?value=.5', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got ".5")'],
    ['?value=high', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got "high")'],
    ['?value=0x10', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got "0x10")'],
    ['?value=00.5', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got "00.5")'],
    ['?value=-01', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got "-01")'],
    ['?value=1.', 'value: Expected a decimal number as JSON writes it, e.g. 0.09 (got "1.")'],
    ['?value=1e999', 'value: Expected a finite number: this one is beyond the largest double (got "1e999")'],
    ['?value=1&value=2', 'value: Given more than once; give it once'],
    ['?value=1&sensor=IAJ9206', 'sensor: Unknown query parameter; this route takes ?value='],
  ])('refuses /alerts%s with 400', async (query, detail) => {
    const response = await api.get(`/alerts${query}`).expect(400).expect('Content-Type', /^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: 'urn:sensor-alerts:problem:invalid-parameter', status: 400, detail });
  });

  it('answers 404 for a sensor without models, 400 for an invalid id, 405 for a write', async () => {
    const missing = await api.get('/SEN0002/alerts?value=1').expect(404);
    expect(missing.body.detail).toBe('Sensor "SEN0002" has no fitted model.');
    await api.get('/-x/alerts?value=1').expect(400);
    await api.post('/alerts?value=1').expect(405).expect('Allow', 'GET, HEAD, OPTIONS');
  });
});
