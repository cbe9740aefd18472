import request from 'supertest';
import { referenceMeanAndStd, relativeError } from '../support/reference-statistics';
import { createTestApp, type TestApp } from '../support/test-app';

describe('fit with a million values in one request', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp();
  });
  afterAll(() => testApp.close());

  it('accepts 1,000,000 readings (with nulls) under the default 16mb limit and learns them exactly', async () => {
    // Six-decimal readings, like the case's vibration columns: about 9 bytes each.
    const values = Array.from({ length: 1_000_000 }, (_, i) => (i % 50 === 0 ? null : Math.round(((i * 7919) % 100_003) * 10) / 1e6));
    const body = JSON.stringify({ values });
    expect(body.length).toBeLessThan(16 * 1024 * 1024);

    const response = await request(testApp.app).post('/BIG01/fit').set('Content-Type', 'application/json').send(body).expect(200);

    const expected = referenceMeanAndStd(values);
    expect(response.body.n).toBe(980_000);
    expect(relativeError(response.body.mean, expected.mean)).toBeLessThan(1e-12);
    expect(relativeError(response.body.std, expected.std)).toBeLessThan(1e-12);
  });
});
