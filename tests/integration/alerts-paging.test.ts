import Database from 'better-sqlite3';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from '../../src/application/ports/weights.repository';
import { TrainSensorsUseCase } from '../../src/application/train-sensors.use-case';
import { ArrayReadingsSource } from '../support/array-readings.source';
import { createTestApp, type TestApp } from '../support/test-app';

// GET /alerts reads the models a page (4,096) at a time and writes the JSON as it goes.
describe('GET /alerts over many models: paged, streamed, and other requests served meanwhile', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
  });
  afterAll(() => testApp.close());

  it('answers exactly the table of 9,000 models, sensors cut across pages, in byte order', async () => {
    // Sensor S<i>, metrics a, b, c: readings [i, i + 2k] for the k-th metric: mean i + k, std k * sqrt(2).
    const metrics = ['a', 'b', 'c'];
    const rows: Array<[string, ...number[]]> = [];
    for (let i = 0; i < 3000; i++) rows.push([`S${i}`, i, i, i], [`S${i}`, i + 2, i + 4, i + 6]);
    await testApp.container.resolve(TrainSensorsUseCase).execute(new ArrayReadingsSource(metrics, rows));
    const value = 1000;
    const expected: Record<string, Record<string, boolean>> = {};
    for (const i of Array.from({ length: 3000 }, (_, index) => index).sort((x, y) => (`S${x}` < `S${y}` ? -1 : 1))) {
      expected[`S${i}`] = Object.fromEntries(metrics.map((metric, k) => [metric, value >= i + (k + 1) + 2 * ((k + 1) * Math.SQRT2)]));
    }
    const response = await api.get(`/alerts?value=${value}`).expect(200).expect('Content-Type', 'application/json; charset=utf-8');
    expect(response.text).toBe(JSON.stringify(expected));
    expect(Object.values(expected).filter((flags) => flags.a).length).toBe(997); // i + 1 + 2.83 <= 1000: i <= 996
  });

  it('never holds the event loop long while it writes a table of 300,000 models', async () => {
    const db = new Database(testApp.dbPath);
    db.exec(`
      WITH RECURSIVE sensor(number) AS (SELECT 1 UNION ALL SELECT number + 1 FROM sensor WHERE number < 100000)
      INSERT INTO weights (sensor_id, metric, mean, std, n, version, updated_at)
      SELECT printf('M%06d', number), metric.name, 1, 0.5, 2, 1, '2026-12-01T00:00:00.000Z'
      FROM sensor, (SELECT 'x' AS name UNION ALL SELECT 'y' UNION ALL SELECT 'z') AS metric`);
    db.close();
    // Reading them at once held it ~0.6-1.5 s here (every other request waited); a page takes milliseconds.
    const delays = monitorEventLoopDelay({ resolution: 5 });
    delays.enable();
    const { body } = await api.get('/alerts?value=3').expect(200);
    delays.disable();
    expect(delays.max / 1e6).toBeLessThan(300);
    // HEAD reads one page only (its status), not the table.
    const listPage = jest.spyOn(testApp.container.resolve<WeightsRepository>(WEIGHTS_REPOSITORY), 'listPage');
    const head = await api.head('/alerts?value=3').expect(200).expect('Content-Type', 'application/json; charset=utf-8');
    expect(head.text).toBeUndefined();
    expect(listPage).toHaveBeenCalledTimes(1);
    expect(Object.keys(body)).toHaveLength(100000 + 3000);
    expect(body.M100000).toEqual({ x: true, y: true, z: true });
  }, 60_000);
});
