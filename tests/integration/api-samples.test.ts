import { join } from 'node:path';
import request from 'supertest';
import { loadSampleRequests } from '../../scripts/sample-requests';
import { createTestApp, type TestApp } from '../support/test-app';
import { relativeError } from '../support/reference-statistics';

describe("the case's sample requests in api_tests/", () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  it('are named and ordered into the case flow: fit, weights, predict, adjust; then SEN0002', () => {
    expect(loadSampleRequests(join(__dirname, '../../api_tests')).map(({ method, path }) => `${method} ${path}`)).toEqual([
      'POST /SEN0001/fit',
      'GET /SEN0001/weights',
      'POST /SEN0001/predict',
      'POST /SEN0001/adjust',
      'GET /SEN0002/weights',
    ]);
  });

  it('give the exact expected answers when replayed', async () => {
    const api = request(testApp.app);
    const answers = [];
    for (const sample of loadSampleRequests(join(__dirname, '../../api_tests'))) {
      answers.push(sample.method === 'GET' ? await api.get(sample.path) : await api.post(sample.path).send(sample.body as object));
    }
    const [fit, weights, predict, adjust, unknown] = answers;
    const std = Math.sqrt(17 / 3);

    expect(fit?.status).toBe(200);
    expect(fit?.body).toMatchObject({ sensor_id: 'SEN0001', metric: 'value', mean: 7.5, n: 4, version: 1 });
    expect(relativeError(fit?.body.std, std)).toBeLessThan(1e-12);

    expect(weights?.status).toBe(200);
    expect(weights?.body).toEqual(fit?.body);

    expect(predict?.status).toBe(200);
    expect(predict?.text).toBe('false');

    expect(adjust?.status).toBe(200);
    expect(adjust?.body).toMatchObject({ sensor_id: 'SEN0001', mean: 8.25, n: 4, version: 2 });
    expect(relativeError(adjust?.body.std, std)).toBeLessThan(1e-12);

    expect(unknown?.status).toBe(404);
    expect(unknown?.body).toMatchObject({ status: 404, type: 'urn:sensor-alerts:problem:sensor-not-found' });
  });
});
