import request from 'supertest';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, type TestApp } from '../support/test-app';

const TOKEN = 'correct-horse-battery-staple';

describe('API_TOKEN', () => {
  describe('for writes only (the default with a token)', () => {
    let testApp: TestApp;
    let api: ReturnType<typeof request>;
    beforeAll(async () => {
      testApp = await createTestApp({ env: { API_TOKEN: TOKEN, BODY_LIMIT_FIT: '1kb' } });
      api = request(testApp.app);
      await api.post('/SEN0001/fit').set('Authorization', `Bearer ${TOKEN}`).send({ values: [10, 5, 6, 9] }).expect(200);
    });
    afterAll(() => testApp.close());

    it.each([
      ['no Authorization header', undefined, 'Send Authorization: Bearer <API_TOKEN>.'],
      ['a wrong token', `Bearer ${TOKEN}x`, 'The bearer token is not valid.'],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`, 'The bearer token is not valid.'],
      ['another scheme', `Basic ${TOKEN}`, 'Send Authorization: Bearer <API_TOKEN>.'],
    ])('refuses a fit, update, adjust or rollback with %s: 401, and nothing changes', async (_label, authorization, detail) => {
      for (const call of [
        api.post('/SEN0001/fit').send({ values: [1, 2] }),
        api.post('/SEN0001/update').send({ values: [1] }),
        api.post('/SEN0001/adjust'),
        api.post('/SEN0001/rollback').send({ version: 1 }),
      ]) {
        const response = await (authorization ? call.set('Authorization', authorization) : call).expect(401);
        expect(response.headers['www-authenticate']).toBe('Bearer realm="sensor-alerts"');
        expect(withoutRequestId(response.body)).toEqual({ type: 'about:blank', title: 'Unauthorized', status: 401, detail });
      }
      expect((await api.get('/SEN0001/weights').expect(200)).body).toMatchObject({ mean: 7.5, version: 1 });
    });

    it.each([
      ['malformed JSON', 400, 'application/json', '{"values": [1, 2'],
      ['not JSON', 415, 'text/plain', '1, 2'],
      ['over BODY_LIMIT_FIT', 413, 'application/json', JSON.stringify({ values: Array.from({ length: 1000 }, (_, i) => i) })],
    ])('checks the token before reading a body: %s is a 401 without it, a %i with it', async (_label, statusWithToken, type, body) => {
      await api.post('/SEN0001/fit').set('Content-Type', type).send(body).expect(401);
      await api.post('/SEN0001/fit').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', type).send(body).expect(statusWithToken);
      expect((await api.get('/SEN0001/weights').expect(200)).body).toMatchObject({ mean: 7.5, version: 1 });
    });

    it('accepts the token (any case of "Bearer"), and leaves reads and predictions open', async () => {
      await api.post('/SEN0001/adjust').set('Authorization', `bearer ${TOKEN}`).expect(200);
      await api.get('/SEN0001/weights').expect(200);
      await api.post('/SEN0001/predict').send({ value: 1 }).expect(200);
      await api.post('/predict').send({ items: [{ sensor_id: 'SEN0001', value: 1 }] }).expect(200);
      await api.get('/alerts?value=1').expect(200);
    });
  });

  describe('for reads too (API_TOKEN_READS=true)', () => {
    let testApp: TestApp;
    let api: ReturnType<typeof request>;
    beforeAll(async () => {
      testApp = await createTestApp({ env: { API_TOKEN: TOKEN, API_TOKEN_READS: 'true' } });
      api = request(testApp.app);
    });
    afterAll(() => testApp.close());

    it('refuses reads and predictions without the token', async () => {
      await api.get('/SEN0001/weights').expect(401);
      await api.get('/SEN0001/weights/history').expect(401);
      await api.post('/SEN0001/predict').send({ value: 1 }).expect(401);
      await api.post('/predict').send({ items: [{ sensor_id: 'SEN0001', value: 1 }] }).expect(401);
      await api.get('/alerts?value=1').expect(401);
      await api.get('/SEN0001/alerts?value=1').expect(401);
      await api.get('/SEN0001/weights').set('Authorization', `Bearer ${TOKEN}`).expect(404);
    });

    it('keeps probes, metrics and documentation open', async () => {
      for (const path of ['/health', '/ready', '/metrics', '/openapi.json', '/docs']) await api.get(path).expect(200);
    });
  });
});
