import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { exactMean, stdRelativeError } from '../support/exact-statistics';
import { relativeError } from '../support/reference-statistics';
import { createTestApp, makeTempDir, type TestApp } from '../support/test-app';

/** 1.1 applied n times, in the same order of float operations the server uses. */
function adjustedMean(mean: number, times: number): number {
  let result = mean;
  for (let i = 0; i < times; i++) result *= 1.1;
  return result;
}

describe('concurrency and persistence over one SQLite file', () => {
  const directory = makeTempDir();
  const dbPath = join(directory, 'sensors.db');
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    // Two app instances, two connections to the same file: as two processes would be.
    first = await createTestApp({ dbPath });
    second = await createTestApp({ dbPath });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('200 adjusts in parallel give exactly mean * 1.1^200, one history row each', async () => {
    await request(first.app).post('/CONC01/fit').send({ values: [10, 5, 6, 9] }).expect(200);
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => request(i % 2 === 0 ? first.app : second.app).post('/CONC01/adjust')),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
    // Every acknowledged adjust saw a distinct version: none was lost or applied twice.
    expect(new Set(responses.map((response) => response.body.version)).size).toBe(200);

    const stored = (await request(second.app).get('/CONC01/weights').expect(200)).body;
    expect(stored.version).toBe(201);
    expect(relativeError(stored.mean, adjustedMean(7.5, 200))).toBeLessThan(1e-12);
    expect(stored.mean).toBe(adjustedMean(7.5, 200));

    const history = (await request(first.app).get('/CONC01/weights/history?limit=1000').expect(200)).body;
    expect(history).toHaveLength(201);
    expect(history.filter((revision: { change: string }) => revision.change === 'adjust')).toHaveLength(200);
  });

  it('200 updates in parallel over both connections each count once: the statistics of all readings', async () => {
    await request(first.app).post('/CONC03/fit').send({ values: [0.05, 0.07] }).expect(200);
    const readings = Array.from({ length: 200 }, (_, i) => 0.045 + i / 4096);
    const responses = await Promise.all(readings.map((reading, i) => request(i % 2 === 0 ? first.app : second.app).post('/CONC03/update').send({ values: [reading] })));
    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
    expect(new Set(responses.map((response) => response.body.version)).size).toBe(200);
    const stored = (await request(second.app).get('/CONC03/weights').expect(200)).body;
    const all = [0.05, 0.07, ...readings];
    expect(stored).toMatchObject({ version: 201, n: 202 });
    expect(stored.mean).toBe(exactMean(all));
    expect(stdRelativeError(stored.std, all)).toBeLessThanOrEqual(1e-13);
  });

  it('parallel fits on one sensor end with the weights of exactly one of them', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => ({ values: [i, i + 2, i + 4] }));
    await Promise.all(bodies.map((body, i) => request(i % 2 ? first.app : second.app).post('/CONC02/fit').send(body).expect(200)));
    const stored = (await request(first.app).get('/CONC02/weights').expect(200)).body;
    const candidates = bodies.map(({ values }) => ({ mean: values[1], std: 2, n: 3 }));
    expect(candidates).toContainEqual({ mean: stored.mean, std: stored.std, n: stored.n });
    expect(stored.version).toBe(50);
    expect((await request(first.app).get('/CONC02/weights/history?limit=1000').expect(200)).body).toHaveLength(50);
  });

  it('weights written by one instance are read by a fresh instance over the same file', async () => {
    const writer = await createTestApp({ dbPath });
    const written = (await request(writer.app).post('/PERS01/fit').send({ values: [1.5, 2.5, 4] }).expect(200)).body;
    await request(writer.app).post('/PERS01/adjust').expect(200);
    await writer.close();

    const reader = await createTestApp({ dbPath });
    try {
      const stored = (await request(reader.app).get('/PERS01/weights').expect(200)).body;
      expect(stored).toMatchObject({ sensor_id: 'PERS01', mean: written.mean * 1.1, std: written.std, n: 3, version: 2 });
      expect((await request(reader.app).post('/PERS01/predict').send({ value: 100 }).expect(200)).body).toBe(true);
    } finally {
      await reader.close();
    }
  });
});
