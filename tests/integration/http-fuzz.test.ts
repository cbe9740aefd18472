import Database from 'better-sqlite3';
import fc from 'fast-check';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app';

// Property-based fuzzing of the HTTP layer: whatever a client sends, the answer is never a
// 5xx, every error is problem+json, and a refused request changes nothing stored.
describe('HTTP fuzzing (fast-check)', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  let reader: Database.Database;

  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
    await api.post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200);
    reader = new Database(testApp.dbPath, { readonly: true });
  });
  afterAll(async () => {
    reader.close();
    await testApp.close();
  });

  const snapshot = () =>
    JSON.stringify([reader.prepare('SELECT * FROM weights ORDER BY sensor_id, metric').all(), reader.prepare('SELECT count(*) AS n FROM weights_history').get()]);

  const segment = fc.oneof(
    fc.constantFrom('SEN0001', 'SEN0002', 'x', '.hidden', '-x', '..', '%2F', '%E0%A4%A', 'a%20b', 'é', 'x'.repeat(65), 'health', 'alerts', 'predict'),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
  );
  const route = fc.constantFrom('', '/fit', '/weights', '/weights/history', '/predict', '/adjust', '/alerts', '/nowhere');
  const query = fc.oneof(
    fc.constant(''),
    fc.constantFrom('?metric=value', '?metric=', '?metric=a&metric=b', '?metric=..%2F', '?limit=0', '?limit=5', '?value=0.09', '?value=1e999', '?value=x'),
    fc.string({ maxLength: 10 }).map((text) => `?${encodeURIComponent(text)}=${encodeURIComponent(text)}`),
  );
  const contentType = fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.x+json', 'application/json; charset=latin-9', 'garbage');
  const body = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.record({ values: fc.array(fc.oneof(fc.double(), fc.constant(null), fc.boolean(), fc.string()), { maxLength: 6 }) }).map((value) => JSON.stringify(value)),
    fc.record({ value: fc.oneof(fc.double(), fc.string(), fc.constant(null)) }).map((value) => JSON.stringify(value)),
    fc.record({ items: fc.array(fc.record({ sensor_id: fc.oneof(fc.constant('SEN0001'), fc.string({ maxLength: 5 })), value: fc.oneof(fc.double(), fc.string()) }), { maxLength: 4 }) }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('{"values": [1, 2', '1e999', '{"values":[1e999,1]}', 'null', '[]', '{"value": 1, "value": "x"}'),
  );
  const method = fc.constantFrom<'get' | 'post' | 'put' | 'delete' | 'patch'>('get', 'post', 'put', 'delete', 'patch');

  it('never answers 5xx, answers errors as problem+json, and refused requests change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(method, segment, route, query, contentType, body, async (verb, id, path, search, type, payload) => {
        const before = snapshot();
        let call = api[verb](`/${id}${path}${search}`);
        if (type !== undefined) call = call.set('Content-Type', type);
        const response = await (payload === undefined ? call : call.send(payload));
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(response.body).toMatchObject({ status: response.status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
          expect(snapshot()).toBe(before);
        }
      }),
      { numRuns: 400 },
    );
  }, 120_000);
});
