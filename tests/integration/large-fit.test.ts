import request from 'supertest';
import { meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
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

    expect(response.body.n).toBe(980_000);
    expect(meanErrorInUlps(response.body.mean, values)).toBeLessThanOrEqual(1);
    expect(stdRelativeError(response.body.std, values)).toBeLessThanOrEqual(1e-13);
    // A million readings through JSON, the domain and the exact oracle: seconds, more on a busy machine.
  }, 60_000);
});
