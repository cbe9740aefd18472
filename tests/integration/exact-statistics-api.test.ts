import request from 'supertest';
import { exactMean, exactStd, meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The accuracy goal through HTTP and storage: what `fit` answers, what `GET /weights` reads
 * back (doubles round-trip exactly through SQLite and PostgreSQL) and what `predict` decides,
 * for each kind of input that used to break, held to exact rational arithmetic.
 */
const range = (length: number, reading: (index: number) => number) => Array.from({ length }, (_, index) => reading(index));

const KINDS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['equal readings, 0.1', [0.1, 0.1, 0.1]],
  ['equal readings, a flat-lined sensor', range(1000, () => 0.0123)],
  ['equal subnormal readings', range(5, () => 2.5e-310)],
  ['far from zero, 1e9 + i / 1000', range(300, (i) => 1e9 + i / 1000)],
  ['far from zero, -4e15 + i', range(700, (i) => -4e15 + (i % 11))],
  ['large, 1e308 twice', [1e308, 1e308]],
  ['large, near the largest double', range(600, (i) => 1.7e308 - (i % 3) * 1e307)],
  ['large, squares that overflow', range(513, (i) => Math.cos(i) * 1e200)],
  ['small, 1e-200 and 2e-200', [1e-200, 2e-200]],
  ['small, squares that underflow', range(513, (i) => Math.cos(i) * 1e-170)],
  ['small, 1e-290 + a spread of a few ulps', range(400, (i) => 1e-290 * (1 + (i % 7) * Number.EPSILON))],
];

function describeBackend(name: string, open: () => Promise<TestApp>): void {
  describe(`exact statistics through HTTP (${name})`, () => {
    let testApp: TestApp;
    let api: ReturnType<typeof request>;
    beforeAll(async () => {
      testApp = await open();
      api = request(testApp.app);
    });
    afterAll(() => testApp.close());

    it.each(KINDS.map(([kind, readings], index) => [kind, readings, `KIND${index}`] as const))('%s', async (_kind, readings, sensorId) => {
      const fitted = await api.post(`/${sensorId}/fit`).send({ values: readings }).expect(200);
      const { mean, std, n } = fitted.body;
      expect(n).toBe(readings.length);
      expect(meanErrorInUlps(mean, readings)).toBeLessThanOrEqual(1);
      expect(stdRelativeError(std, readings)).toBeLessThanOrEqual(1e-13);
      if (readings.every((reading) => reading === readings[0])) expect([mean, std]).toEqual([readings[0], 0]);

      const stored = await api.get(`/${sensorId}/weights`).expect(200);
      expect(stored.body).toEqual(fitted.body); // bit for bit: JSON numbers of shortest round-trip form
      // The decision at the exact threshold's neighbours follows from the exact statistics.
      const threshold = exactMean(readings) + 2 * exactStd(readings);
      for (const value of [threshold, nextUp(threshold), nextDown(threshold)].filter(Number.isFinite)) {
        const predicted = await api.post(`/${sensorId}/predict`).send({ value }).expect(200);
        expect(predicted.body).toBe(value >= mean + 2 * std);
      }
    });

    it("answers the issue's examples as exact arithmetic does", async () => {
      expect((await api.post('/C/fit').send({ values: [0.1, 0.1, 0.1] }).expect(200)).body).toMatchObject({ mean: 0.1, std: 0, n: 3 });
      expect((await api.post('/C/predict').send({ value: 0.1 }).expect(200)).body).toBe(true);

      const far = range(300, (i) => 1e9 + i / 1000);
      const fitted = await api.post('/FAR/fit').send({ values: far }).expect(200);
      expect(stdRelativeError(fitted.body.std, far)).toBeLessThanOrEqual(1e-13);
      expect((await api.post('/FAR/predict').send({ value: 1000000000.3229934 }).expect(200)).body).toBe(false);

      await api.post('/HUGE/fit').send({ values: [1e308, 1e308] }).expect(200);
      expect((await api.get('/HUGE/weights').expect(200)).body).toMatchObject({ mean: 1e308, std: 0 });

      await api.post('/TINY/fit').send({ values: [1e-200, 2e-200] }).expect(200);
      expect((await api.get('/TINY/weights').expect(200)).body).toMatchObject({ mean: 1.5e-200, std: 7.071067811865475e-201 });
      expect((await api.post('/TINY/predict').send({ value: 1.5e-200 }).expect(200)).body).toBe(false);
    });

    it('refuses, with 422 saying the adjustment overflows, an adjust past the largest double, and changes nothing', async () => {
      const fitted = (await api.post('/ADJ-MAX/fit').send({ values: [1.7e308, 1.7e308] }).expect(200)).body;
      const response = await api.post('/ADJ-MAX/adjust').expect(422);
      expect(response.body).toMatchObject({
        type: 'urn:sensor-alerts:problem:unrepresentable-weights',
        detail: 'The adjustment overflows: the adjusted mean (or the adjustment factor) would exceed the largest 64-bit float; the model is unchanged.',
      });
      expect((await api.get('/ADJ-MAX/weights').expect(200)).body).toEqual(fitted);
    });

    it('still refuses, with 422, readings whose exact std exceeds the largest double', async () => {
      const response = await api.post('/OVER/fit').send({ values: [1.5e308, -1.5e308] }).expect(422);
      expect(response.body.type).toBe('urn:sensor-alerts:problem:unrepresentable-weights');
      await api.get('/OVER/weights').expect(404);
    });
  });
}

describeBackend('SQLite', () => createTestApp());

describeWithPostgres('PostgreSQL', (adminUrl) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'exact_statistics');
  });
  afterAll(() => database.drop());
  describeBackend('PostgreSQL', () => createTestApp({ env: { DATABASE_URL: database.url } }));
});

function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + (x >= 0 ? 1n : -1n));
  return view.getFloat64(0);
}

function nextDown(x: number): number {
  return -nextUp(-x);
}
