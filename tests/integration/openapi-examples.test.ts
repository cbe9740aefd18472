import request from 'supertest';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from '../../src/application/ports/weights.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import type { MetricName } from '../../src/domain/metric-name';
import type { Sensor } from '../../src/domain/sensor';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, type TestApp } from '../support/test-app';

type Problem = Record<string, unknown>;

/**
 * The documented problem examples are what the server really answers: a client that codes
 * against /openapi.json sees the same type, title, status, detail and field errors.
 */
describe('the OpenAPI problem examples', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  let examples: Map<string, Problem>;

  beforeAll(async () => {
    testApp = await createTestApp({
      env: { API_TOKEN: 'example-token-0123456789' },
      // Sensor FAULT's reads fail as a bug would, DOWN's adjust as storage that cannot serve.
      configure: (container) => {
        const real = container.resolve<WeightsRepository>(WEIGHTS_REPOSITORY);
        const failing: WeightsRepository = Object.assign(Object.create(real) as WeightsRepository, {
          find: (sensor: Sensor, metric: MetricName) => (sensor.id === 'FAULT' ? Promise.reject(new Error('a bug')) : real.find(sensor, metric)),
          scaleMean: (sensor: Sensor, metric: MetricName, factor: number) =>
            sensor.id === 'DOWN' ? Promise.reject(new StorageUnavailableError('the disk is full (SQLITE_FULL)')) : real.scaleMean(sensor, metric, factor),
        });
        container.register(WEIGHTS_REPOSITORY, { useValue: failing });
      },
    });
    api = request(testApp.app);
    const document = (await api.get('/openapi.json').expect(200)).body;
    examples = new Map<string, Problem>();
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      for (const [method, { responses }] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(responses)) {
          const example = (response as { content?: Record<string, { example?: Problem }> }).content?.['application/problem+json']?.example;
          if (example) examples.set(`${method.toUpperCase()} ${path} ${status}`, example);
        }
      }
    }
  });
  afterAll(() => testApp?.close());

  const write = (path: string) => api.post(path).set('Authorization', 'Bearer example-token-0123456789');

  function documented(key: string): Problem {
    const example = examples.get(key);
    if (!example) throw new Error(`no problem example documented for ${key}`);
    return withoutExampleId(example);
  }

  it.each([
    ['POST /{sensor_id}/predict 400', () => api.post('/.x/predict').send({ value: 1 })],
    ['POST /{sensor_id}/fit 401', () => api.post('/SEN0001/fit').send({ values: [1, 2] })],
    ['POST /{sensor_id}/predict 404', () => api.post('/SEN0002/predict').send({ value: 1 })],
    ['POST /{sensor_id}/predict 405', () => api.get('/SEN0001/predict')],
    ['POST /{sensor_id}/predict 415', () => api.post('/SEN0001/predict').set('Content-Type', 'text/plain').send('10')],
    ['POST /{sensor_id}/predict 422', () => api.post('/SEN0001/predict').send({ value: 'high' })],
    ['GET /{sensor_id}/weights 500', () => api.get('/FAULT/weights')],
  ])('%s is the answer the server gives', async (key, call) => {
    const expected = documented(key);
    const response = await call().expect(expected.status as number).expect('Content-Type', /^application\/problem\+json/);
    expect(withoutRequestId(response.body)).toEqual(expected);
  });

  it.each([
    [
      'POST /{sensor_id}/fit 422',
      async () => {
        await write('/SEN0003/fit').set('Idempotency-Key', 'example-key').send({ values: [1, 2] }).expect(200);
        return write('/SEN0003/fit').set('Idempotency-Key', 'example-key').send({ values: [1, 3] });
      },
    ],
    [
      'POST /{sensor_id}/rollback 404',
      async () => {
        await write('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200);
        return write('/SEN0001/rollback').send({ version: 42 });
      },
    ],
  ])('%s is the answer the server gives to a write', async (key, call) => {
    const expected = documented(key);
    const response = await call();
    expect(response.status).toBe(expected.status);
    expect(withoutRequestId(response.body)).toEqual(expected);
  });

  it('POST /{sensor_id}/adjust 503 has the type, title and wording of storage that cannot serve', async () => {
    const expected = documented('POST /{sensor_id}/adjust 503');
    const response = await api.post('/DOWN/adjust').set('Authorization', 'Bearer example-token-0123456789').expect(503);
    const answer = withoutRequestId(response.body);
    expect({ ...answer, detail: undefined }).toEqual({ ...expected, detail: undefined });
    expect(answer.detail).toBe('The weights database cannot take this request now: the disk is full (SQLITE_FULL).');
    expect(expected.detail).toMatch(/^The weights database cannot take this request now: .+\.$/);
  });
});

function withoutExampleId(example: Problem): Problem {
  const { request_id: requestId, ...problem } = example;
  expect(requestId).toEqual(expect.any(String));
  return problem;
}
