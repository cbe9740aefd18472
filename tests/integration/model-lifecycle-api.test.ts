import request from 'supertest';
import { exactMean, meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, type TestApp } from '../support/test-app';

/** Readings spread over ~[0.045, 0.102), as vibration RMS values are; from a fixed seed. */
function randomReadings(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => 0.045 + 0.057 * ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648));
}

describe('the model lifecycle over HTTP (update, adjust as a factor, rollback, delete) on a real SQLite file', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
  });
  afterAll(() => testApp.close());

  const fit = (id: string, values: unknown[], query = '') => api.post(`/${id}/fit${query}`).send({ values });
  const update = (id: string, values: unknown[], query = '') => api.post(`/${id}/update${query}`).send({ values });
  const weights = async (id: string, query = '') => (await api.get(`/${id}/weights${query}`).expect(200)).body;
  const changes = async (id: string) => ((await api.get(`/${id}/weights/history`).expect(200)).body as Array<{ change: string }>).map((revision) => revision.change);

  describe('adjust is a stored factor', () => {
    it("says the factor beside the effective mean: the case's 8.25, then 9.075; a fit resets it to 1", async () => {
      expect((await fit('LIFE01', [10, 5, 6, 9]).expect(200)).body).toMatchObject({ mean: 7.5, adjustment: 1 });
      expect((await api.post('/LIFE01/adjust').expect(200)).body).toMatchObject({ mean: 8.25, adjustment: 1.1, n: 4, version: 2 });
      const twice = (await api.post('/LIFE01/adjust').expect(200)).body;
      // 9.075 as the doubles go: (7.5 * 1.1) * 1.1, one rounding per adjust.
      expect(twice).toMatchObject({ mean: 7.5 * 1.1 * 1.1, adjustment: 1.1 * 1.1, version: 3 });
      expect(Math.abs(twice.mean - 9.075)).toBeLessThan(1e-14);
      expect((await fit('LIFE01', [1, 3]).expect(200)).body).toMatchObject({ mean: 2, adjustment: 1, version: 4 });
      const history = (await api.get('/LIFE01/weights/history').expect(200)).body;
      expect(history.map(({ change, adjustment }: { change: string; adjustment: number }) => [change, adjustment])).toEqual([
        ['fit', 1],
        ['adjust', 1.1 * 1.1],
        ['adjust', 1.1],
        ['fit', 1],
      ]);
    });

    it('keeps applying to readings merged later', async () => {
      await fit('LIFE02', [10, 5, 6, 9]).expect(200);
      await api.post('/LIFE02/adjust').expect(200);
      // The learned mean of [10, 5, 6, 9, 12] is 42 / 5 = 8.4 (the double nearest it).
      const updated = (await update('LIFE02', [12]).expect(200)).body;
      expect(updated).toMatchObject({ mean: 8.4 * 1.1, n: 5, adjustment: 1.1, version: 3 });
      expect(stdRelativeError(updated.std, [10, 5, 6, 9, 12])).toBeLessThanOrEqual(1e-13);
    });
  });

  describe('POST /{sensor_id}/update', () => {
    it('merges readings as if they had been part of the fit: fit(A) then update(B) is fit(A ++ B)', async () => {
      const a = randomReadings(5000, 11);
      const b = randomReadings(3001, 12);
      const c = [0.5, null, 0.06];
      await fit('UPD01', a).expect(200);
      const afterB = (await update('UPD01', b).expect(200).expect('Content-Type', /^application\/json/)).body;
      expect(afterB).toMatchObject({ sensor_id: 'UPD01', metric: 'value', n: 8001, version: 2, adjustment: 1 });
      const updated = (await update('UPD01', c).expect(200)).body;
      const all = [...a, ...b, ...c];
      expect(updated).toMatchObject({ n: 8003, version: 3 });
      expect(updated.mean).toBe(exactMean(all));
      expect(meanErrorInUlps(updated.mean, all)).toBeLessThanOrEqual(1);
      expect(stdRelativeError(updated.std, all)).toBeLessThanOrEqual(1e-13);
      // The same as one fit of everything.
      const whole = (await fit('UPD01-ALL', all).expect(200)).body;
      expect(updated.mean).toBe(whole.mean);
      expect(Math.abs(updated.std - whole.std) / whole.std).toBeLessThanOrEqual(2e-13);
      expect(await weights('UPD01')).toEqual(updated);
      expect(await changes('UPD01')).toEqual(['update', 'update', 'fit']);
    });

    it('takes one reading for a fitted model, and updates only the model of ?metric=', async () => {
      await fit('UPD02', [10, 5, 6, 9]).expect(200);
      await fit('UPD02', [1, 3], '?metric=temp').expect(200);
      expect((await update('UPD02', [5], '?metric=temp').expect(200)).body).toMatchObject({ metric: 'temp', mean: 3, std: 2, n: 3, version: 2 });
      expect(await weights('UPD02')).toMatchObject({ mean: 7.5, n: 4, version: 1 });
    });

    it('behaves as fit for a sensor never fitted: two readings at least', async () => {
      const one = await update('UPD03', [4, null]).expect(422);
      expect(withoutRequestId(one.body)).toMatchObject({ type: 'urn:sensor-alerts:problem:insufficient-readings', status: 422 });
      await api.get('/UPD03/weights').expect(404);
      expect((await update('UPD03', [4, 6]).expect(200)).body).toMatchObject({ mean: 5, std: Math.SQRT2, n: 2, version: 1, adjustment: 1 });
      expect(await changes('UPD03')).toEqual(['update']);
    });

    it('refuses bad input with problem+json and changes nothing', async () => {
      const stored = (await fit('UPD04', [10, 5, 6, 9]).expect(200)).body;
      const noNumber = await update('UPD04', [null]).expect(422).expect('Content-Type', /^application\/problem\+json/);
      expect(withoutRequestId(noNumber.body).detail).toBe('At least 1 non-null reading is needed to update a model; got 0.');
      for (const body of [{}, { values: [] }, { values: ['1'] }, { values: [1], extra: true }, { value: 1 }]) {
        await api.post('/UPD04/update').send(body).expect(422);
      }
      await api.post('/UPD04/update').set('Content-Type', 'application/json').send('{"values": [1').expect(400);
      await api.post('/.bad/update').send({ values: [1] }).expect(400);
      await api.get('/UPD04/update').expect(405);
      expect(await weights('UPD04')).toEqual(stored);
    });

    it('counts each of 200 concurrent updates exactly once', async () => {
      await fit('UPD05', [0.05, 0.07]).expect(200);
      const readings = randomReadings(200, 21);
      const responses = await Promise.all(readings.map((reading) => update('UPD05', [reading])));
      expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
      expect(new Set(responses.map((response) => response.body.version)).size).toBe(200);
      const stored = await weights('UPD05');
      const all = [0.05, 0.07, ...readings];
      expect(stored).toMatchObject({ version: 201, n: 202 });
      expect(stored.mean).toBe(exactMean(all));
      expect(stdRelativeError(stored.std, all)).toBeLessThanOrEqual(1e-13);
    });
  });

  describe('POST /{sensor_id}/rollback', () => {
    it('restores what a revision recorded, statistics and adjustment, as a new version', async () => {
      const fitted = (await fit('RB01', [10, 5, 6, 9]).expect(200)).body;
      const adjusted = (await api.post('/RB01/adjust').expect(200)).body;
      await update('RB01', [100, 200]).expect(200);
      const restored = (await api.post('/RB01/rollback').send({ version: 2 }).expect(200)).body;
      expect(restored).toMatchObject({ mean: adjusted.mean, std: adjusted.std, n: adjusted.n, adjustment: adjusted.adjustment, version: 4 });
      // The learned sums come back too: an update merges into [10, 5, 6, 9].
      expect((await update('RB01', [12]).expect(200)).body).toMatchObject({ mean: 8.4 * 1.1, n: 5, adjustment: 1.1 });
      const back = (await api.post('/RB01/rollback').send({ version: 1 }).expect(200)).body;
      expect(back).toMatchObject({ mean: fitted.mean, std: fitted.std, n: 4, adjustment: 1, version: 6 });
      expect(await changes('RB01')).toEqual(['rollback', 'update', 'rollback', 'update', 'adjust', 'fit']);
    });

    it('answers 404 for a model or a version that does not exist, 422 for a bad body; neither changes anything', async () => {
      const stored = (await fit('RB02', [1, 2]).expect(200)).body;
      const noModel = await api.post('/RB-NONE/rollback').send({ version: 1 }).expect(404);
      expect(withoutRequestId(noModel.body)).toMatchObject({ type: 'urn:sensor-alerts:problem:sensor-not-found' });
      const noVersion = await api.post('/RB02/rollback').send({ version: 2 }).expect(404).expect('Content-Type', /^application\/problem\+json/);
      expect(withoutRequestId(noVersion.body)).toMatchObject({
        type: 'urn:sensor-alerts:problem:revision-not-found',
        title: 'Version not found',
        detail: 'The model of sensor "RB02" for metric "value" has no version 2.',
      });
      await api.post('/RB02/rollback?metric=temp').send({ version: 1 }).expect(404);
      for (const body of [{}, { version: 0 }, { version: 1.5 }, { version: '1' }, { version: 1, extra: 1 }, { version: -1 }]) {
        const refused = await api.post('/RB02/rollback').send(body).expect(422);
        expect(withoutRequestId(refused.body)).toMatchObject({ status: 422 });
      }
      await api.post('/RB02/rollback').expect(422);
      expect(await weights('RB02')).toEqual(stored);
      expect(await changes('RB02')).toEqual(['fit']);
    });
  });

  describe('DELETE /{sensor_id}/weights', () => {
    it('deletes the model of ?metric=, answering the weights it had; its history stays, and every route then answers 404', async () => {
      await fit('DEL01', [10, 5, 6, 9]).expect(200);
      const adjusted = (await api.post('/DEL01/adjust').expect(200)).body;
      const other = (await fit('DEL01', [1, 3], '?metric=temp').expect(200)).body;
      const deleted = await api.delete('/DEL01/weights').expect(200).expect('Content-Type', /^application\/json/);
      expect(deleted.body).toEqual({
        sensor_id: 'DEL01',
        metric: 'value',
        mean: adjusted.mean,
        std: adjusted.std,
        n: 4,
        adjustment: 1.1,
        version: 3,
        deleted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      for (const answer of [
        await api.get('/DEL01/weights'),
        await api.post('/DEL01/predict').send({ value: 1 }),
        await api.post('/DEL01/adjust'),
        await api.delete('/DEL01/weights'),
      ]) {
        expect([answer.status, answer.body.type]).toEqual([404, 'urn:sensor-alerts:problem:sensor-not-found']);
      }
      const history = (await api.get('/DEL01/weights/history').expect(200)).body;
      expect(history[0]).toEqual({ version: 3, change: 'delete', mean: adjusted.mean, std: adjusted.std, n: 4, adjustment: 1.1, recorded_at: deleted.body.deleted_at });
      expect(await changes('DEL01')).toEqual(['delete', 'adjust', 'fit']);
      // The sensor's other model stays.
      expect(await weights('DEL01', '?metric=temp')).toEqual(other);
      expect((await api.get('/DEL01/alerts?value=1').expect(200)).body).toEqual({ temp: false });
    });

    it('is undone by a rollback to any earlier version, and a fit afterwards goes on counting versions', async () => {
      await fit('DEL02', [10, 5, 6, 9]).expect(200);
      await api.post('/DEL02/adjust').expect(200);
      await api.delete('/DEL02/weights').expect(200);
      expect((await api.post('/DEL02/rollback').send({ version: 2 }).expect(200)).body).toMatchObject({ mean: 7.5 * 1.1, adjustment: 1.1, n: 4, version: 4 });
      expect((await api.post('/DEL02/predict').send({ value: 100 }).expect(200)).body).toBe(true);
      await api.delete('/DEL02/weights').expect(200);
      // A fit makes a new model: nothing of the deleted one (its adjustment) carries over.
      expect((await fit('DEL02', [1, 3]).expect(200)).body).toMatchObject({ mean: 2, adjustment: 1, n: 2, version: 6 });
      expect(await changes('DEL02')).toEqual(['fit', 'delete', 'rollback', 'delete', 'adjust', 'fit']);
    });

    it('refuses bad input with problem+json and changes nothing', async () => {
      const stored = (await fit('DEL03', [1, 2]).expect(200)).body;
      for (const refused of [
        await api.delete('/DEL03/weights').send({ version: 1 }),
        await api.delete('/DEL03/weights').set('Content-Type', 'application/json').send('[]'),
        await api.delete('/DEL03/weights?metric=').send(),
        await api.delete('/DEL03/weights?confirm=true'),
        await api.delete('/DEL%2003/weights'),
      ]) {
        expect(refused.status).toBeGreaterThanOrEqual(400);
        expect(refused.status).toBeLessThan(500);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      await api.delete('/DEL03/weights?metric=temp').expect(404);
      expect(await weights('DEL03')).toEqual(stored);
      expect(await changes('DEL03')).toEqual(['fit']);
    });

    it('answers a retry under the same Idempotency-Key as the first time, without deleting again', async () => {
      await fit('DEL04', [1, 2]).expect(200);
      const first = await api.delete('/DEL04/weights').set('Idempotency-Key', 'del-04').expect(200);
      const again = await api.delete('/DEL04/weights').set('Idempotency-Key', 'del-04').expect(200).expect('Idempotent-Replayed', 'true');
      expect(again.body).toEqual(first.body);
      await fit('DEL04', [3, 5]).expect(200);
      await api.delete('/DEL04/weights').set('Idempotency-Key', 'del-04').expect(200);
      expect(await weights('DEL04')).toMatchObject({ mean: 4, version: 3 });
    });
  });

  it('counts updates, rollbacks and deletions in sensor_model_changes_total', async () => {
    const before = (await api.get('/metrics').expect(200)).text;
    await fit('MET01', [1, 2]).expect(200);
    await update('MET01', [3]).expect(200);
    await api.post('/MET01/rollback').send({ version: 1 }).expect(200);
    await api.delete('/MET01/weights').expect(200);
    const after = (await api.get('/metrics').expect(200)).text;
    const count = (text: string, change: string) => Number(new RegExp(`^sensor_model_changes_total\\{change="${change}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count(after, 'update') - count(before, 'update')).toBe(1);
    expect(count(after, 'rollback') - count(before, 'rollback')).toBe(1);
    expect(count(after, 'delete') - count(before, 'delete')).toBe(1);
  });

  describe('GET /{sensor_id}/weights/history, page by page', () => {
    it('lists every revision, newest first, a page below the last version of the one before, then an empty page', async () => {
      await fit('PAGE01', [1, 2]).expect(200);
      for (let i = 0; i < 6; i++) await api.post('/PAGE01/adjust').expect(200);
      const page = async (query: string) => ((await api.get(`/PAGE01/weights/history${query}`).expect(200)).body as Array<{ version: number }>).map((revision) => revision.version);
      expect(await page('?limit=3')).toEqual([7, 6, 5]);
      expect(await page('?limit=3&before=5')).toEqual([4, 3, 2]);
      expect(await page('?limit=3&before=2')).toEqual([1]);
      expect(await page('?limit=3&before=1')).toEqual([]);
      expect(await page('?before=99')).toEqual([7, 6, 5, 4, 3, 2, 1]);
      // A model never fitted is a 404 on every page; a deleted one keeps its pages, the last one empty.
      await api.get('/PAGE02/weights/history?before=5').expect(404);
      await api.delete('/PAGE01/weights').expect(200);
      expect(await page('?limit=3')).toEqual([8, 7, 6]);
      expect(await page('?limit=3&before=1')).toEqual([]);
    });
  });
});
