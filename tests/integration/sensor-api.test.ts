import request from 'supertest';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, type TestApp } from '../support/test-app';
import { relativeError } from '../support/reference-statistics';

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('sensor routes (HTTP contract over a real SQLite file)', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
  });
  afterAll(() => testApp.close());

  const fit = (sensorId: string, values: unknown[], query = '') =>
    api.post(`/${sensorId}/fit${query}`).send({ values });

  describe('POST /{sensor_id}/fit', () => {
    it('answers the new weights with mean, sample std, n, threshold, version and updated_at', async () => {
      const before = Date.now();
      const response = await fit('FIT01', [10, 5, 6, 9]).expect(200).expect('Content-Type', /^application\/json/);
      expect(response.body).toEqual({
        sensor_id: 'FIT01',
        metric: 'value',
        mean: 7.5,
        std: expect.any(Number),
        n: 4,
        adjustment: 1,
        threshold: expect.any(Number),
        version: 1,
        updated_at: expect.stringMatching(ISO_TIMESTAMP),
      });
      expect(relativeError(response.body.std, Math.sqrt(17 / 3))).toBeLessThan(1e-12);
      // The case rule on the answered statistics: mean + 2 * std.
      expect(response.body.threshold).toBe(7.5 + 2 * response.body.std);
      expect(Date.parse(response.body.updated_at)).toBeGreaterThanOrEqual(before - 1);
    });

    it('answers threshold null when mean + 2 * std exceeds the largest double, and predicts no alert', async () => {
      const response = await fit('FIT-HUGE', [1e308, 1.7e308]).expect(200);
      expect(response.body).toMatchObject({ mean: 1.35e308, threshold: null });
      expect((await api.get('/FIT-HUGE/weights').expect(200)).body.threshold).toBeNull();
      expect((await api.post('/FIT-HUGE/predict').send({ value: 1.7976931348623157e308 }).expect(200)).body).toBe(false);
    });

    it('skips null readings', async () => {
      const response = await fit('FIT02', [null, 10, 5, null, 6, 9]).expect(200);
      expect(response.body).toMatchObject({ mean: 7.5, n: 4 });
    });

    it('replaces the model on refit', async () => {
      await fit('FIT03', [10, 5, 6, 9]).expect(200);
      const refit = await fit('FIT03', [1, 3]).expect(200);
      expect(refit.body).toMatchObject({ mean: 2, std: Math.SQRT2, n: 2, version: 2 });
      const stored = await api.get('/FIT03/weights').expect(200);
      expect(stored.body).toEqual(refit.body);
    });

    it('keeps one model per ?metric=, the default being `value`', async () => {
      await fit('FIT04', [10, 5, 6, 9]).expect(200);
      const velocity = await fit('FIT04', [1, 3], '?metric=params.velRMS.x').expect(200);
      expect(velocity.body).toMatchObject({ sensor_id: 'FIT04', metric: 'params.velRMS.x', mean: 2, version: 1 });
      expect((await api.get('/FIT04/weights').expect(200)).body).toMatchObject({ metric: 'value', mean: 7.5 });
      expect((await api.get('/FIT04/weights?metric=value').expect(200)).body).toMatchObject({ mean: 7.5 });
      expect((await api.get('/FIT04/weights?metric=params.velRMS.x').expect(200)).body).toMatchObject({ mean: 2 });
    });

    it('accepts a +json media type and a charset', async () => {
      await api
        .post('/FIT05/fit')
        .set('Content-Type', 'application/vnd.sensor+json; charset=utf-8')
        .send(JSON.stringify({ values: [1, 2, 3] }))
        .expect(200);
    });
  });

  describe('GET /{sensor_id}/weights', () => {
    it('answers the stored weights', async () => {
      const fitted = await fit('GET01', [2, 4, 4, 4, 5, 5, 7, 9]).expect(200);
      const stored = await api.get('/GET01/weights').expect(200).expect('Content-Type', /^application\/json/);
      expect(stored.body).toEqual(fitted.body);
      expect(stored.body.mean).toBe(5);
      expect(relativeError(stored.body.std, Math.sqrt(32 / 7))).toBeLessThan(1e-12);
    });

    it('answers 404 for a sensor never fitted', async () => {
      const response = await api.get('/NEVER01/weights').expect(404).expect('Content-Type', /^application\/problem\+json/);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'urn:sensor-alerts:problem:sensor-not-found',
        title: 'Sensor not found',
        status: 404,
        detail: 'Sensor "NEVER01" has no fitted model for metric "value".',
      });
    });

    it('answers 404 for a metric never fitted on a known sensor, naming the metrics it has models for', async () => {
      await fit('GET02', [1, 2]).expect(200);
      const response = await api.get('/GET02/weights?metric=temp').expect(404);
      expect(response.body.detail).toBe('Sensor "GET02" has no fitted model for metric "temp". It has models for "value".');
      for (let metric = 1; metric <= 11; metric++) await api.post(`/GET03/fit?metric=m${String(metric).padStart(2, '0')}`).send({ values: [1, 2] }).expect(200);
      // The same on every route that names one model: ten names at most.
      const tenOf11 = 'It has models for "m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10" and 1 more.';
      for (const request of [api.get('/GET03/weights'), api.post('/GET03/predict').send({ value: 1 }), api.post('/GET03/adjust'), api.get('/GET03/weights/history'), api.delete('/GET03/weights')]) {
        expect((await request.expect(404)).body.detail).toBe(`Sensor "GET03" has no fitted model for metric "value". ${tenOf11}`);
      }
      expect((await api.get('/GET04/weights').expect(404)).body.detail).toBe('Sensor "GET04" has no fitted model for metric "value".');
    });
  });

  describe('POST /{sensor_id}/predict', () => {
    // mean 1, std 0.5 (readings 0.5, 1, 1.5): threshold mean + 2 * std = 2 exactly.
    beforeAll(async () => {
      await fit('PRED01', [0.5, 1, 1.5]).expect(200);
    });

    it('answers the bare JSON boolean', async () => {
      const alert = await api.post('/PRED01/predict').send({ value: 2.5 }).expect(200);
      expect(alert.text).toBe('true');
      expect(alert.headers['content-type']).toBe('application/json; charset=utf-8');
      const calm = await api.post('/PRED01/predict').send({ value: 1 }).expect(200);
      expect(calm.text).toBe('false');
    });

    it('is inclusive at mean + 2 * std', async () => {
      expect((await api.post('/PRED01/predict').send({ value: 2 }).expect(200)).body).toBe(true);
      expect((await api.post('/PRED01/predict').send({ value: 1.9999999999999998 }).expect(200)).body).toBe(false);
    });

    it('predicts with the model of ?metric=', async () => {
      await fit('PRED01', [100, 101], '?metric=temp').expect(200);
      expect((await api.post('/PRED01/predict?metric=temp').send({ value: 2.5 }).expect(200)).body).toBe(false);
    });

    it('answers 404 for a sensor never fitted', async () => {
      const response = await api.post('/NEVER02/predict').send({ value: 1 }).expect(404);
      expect(response.body.type).toBe('urn:sensor-alerts:problem:sensor-not-found');
    });
  });

  describe('POST /{sensor_id}/adjust', () => {
    it('raises the mean by 10% with no body, keeping std and n', async () => {
      const fitted = await fit('ADJ01', [10, 5, 6, 9]).expect(200);
      const adjusted = await api.post('/ADJ01/adjust').expect(200);
      expect(adjusted.body).toMatchObject({ sensor_id: 'ADJ01', mean: 8.25, std: fitted.body.std, n: 4, version: 2 });
      expect((await api.get('/ADJ01/weights').expect(200)).body).toEqual(adjusted.body);
    });

    it('accepts an empty JSON object, and an empty JSON body', async () => {
      await fit('ADJ02', [10, 5, 6, 9]).expect(200);
      await api.post('/ADJ02/adjust').send({}).expect(200);
      const second = await api.post('/ADJ02/adjust').set('Content-Type', 'application/json').send('').expect(200);
      expect(second.body.mean).toBe(7.5 * 1.1 * 1.1);
    });

    it('adjusts only the model of ?metric=', async () => {
      await fit('ADJ03', [10, 5, 6, 9]).expect(200);
      await fit('ADJ03', [1, 3], '?metric=temp').expect(200);
      expect((await api.post('/ADJ03/adjust?metric=temp').expect(200)).body.mean).toBe(2 * 1.1);
      expect((await api.get('/ADJ03/weights').expect(200)).body.mean).toBe(7.5);
    });

    it('answers 404 for a sensor never fitted', async () => {
      await api.post('/NEVER03/adjust').expect(404);
    });
  });

  describe('GET /{sensor_id}/weights/history', () => {
    it('lists every fit and adjust, newest first', async () => {
      await fit('HIST01', [10, 5, 6, 9]).expect(200);
      await api.post('/HIST01/adjust').expect(200);
      await fit('HIST01', [1, 3]).expect(200);
      const response = await api.get('/HIST01/weights/history').expect(200);
      expect(response.body.map(({ version, change, mean, n }: Record<string, unknown>) => ({ version, change, mean, n }))).toEqual([
        { version: 3, change: 'fit', mean: 2, n: 2 },
        { version: 2, change: 'adjust', mean: 8.25, n: 4 },
        { version: 1, change: 'fit', mean: 7.5, n: 4 },
      ]);
      for (const revision of response.body) expect(revision.recorded_at).toMatch(ISO_TIMESTAMP);
    });

    it('honours ?limit= and ?metric=', async () => {
      await fit('HIST02', [1, 2]).expect(200);
      await fit('HIST02', [1, 3]).expect(200);
      await fit('HIST02', [5, 7], '?metric=temp').expect(200);
      const latest = await api.get('/HIST02/weights/history?limit=1').expect(200);
      expect(latest.body).toHaveLength(1);
      expect(latest.body[0]).toMatchObject({ version: 2, mean: 2 });
      const temp = await api.get('/HIST02/weights/history?metric=temp').expect(200);
      expect(temp.body).toHaveLength(1);
      expect(temp.body[0]).toMatchObject({ version: 1, mean: 6 });
    });

    it('answers 404 for a model never fitted', async () => {
      await api.get('/NEVER04/weights/history').expect(404);
    });
  });

  describe('GET /health', () => {
    it('answers ok while the database answers', async () => {
      const response = await api.get('/health').expect(200);
      expect(response.body).toEqual({ status: 'ok' });
    });
  });

  it('never sends X-Powered-By', async () => {
    const response = await api.get('/health');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });
});
