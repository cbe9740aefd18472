import Database from 'better-sqlite3';
import request from 'supertest';
import { WEIGHTS_REPOSITORY } from '../../src/application/ports/weights.repository';
import { SqliteWeightsRepository } from '../../src/infrastructure/sqlite/sqlite-weights.repository';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, type TestApp } from '../support/test-app';

describe('a database that cannot take writes', () => {
  describe('locked by another writer', () => {
    let testApp: TestApp;
    let api: ReturnType<typeof request>;
    let otherWriter: Database.Database;

    beforeAll(async () => {
      testApp = await createTestApp({ env: { DB_BUSY_TIMEOUT_MS: '50' } });
      api = request(testApp.app);
      await api.post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200);
      otherWriter = new Database(testApp.dbPath);
      otherWriter.exec("BEGIN EXCLUSIVE; INSERT INTO weights (sensor_id, metric, mean, std, n, version, updated_at) VALUES ('OTHER', 'value', 1, 1, 2, 1, 'now')");
    });
    afterAll(async () => {
      otherWriter.close();
      await testApp.close();
    });

    it('answers writes 503 problem+json with Retry-After, and keeps answering reads', async () => {
      for (const write of [api.post('/SEN0001/fit').send({ values: [1, 2] }), api.post('/SEN0001/adjust')]) {
        const response = await write.expect(503).expect('Content-Type', /^application\/problem\+json/).expect('Retry-After', '1');
        expect(withoutRequestId(response.body)).toEqual({
          type: 'urn:sensor-alerts:problem:storage-unavailable',
          title: 'Storage unavailable',
          status: 503,
          detail: 'The weights database cannot take this request now: database is locked (SQLITE_BUSY).',
        });
      }
      expect((await api.get('/SEN0001/weights').expect(200)).body).toMatchObject({ mean: 7.5, version: 1 });
      expect((await api.post('/SEN0001/predict').send({ value: 100 }).expect(200)).body).toBe(true);
      await api.get('/health').expect(200);
    });

    it('takes writes again once the lock is gone', async () => {
      otherWriter.exec('ROLLBACK');
      expect((await api.post('/SEN0001/adjust').expect(200)).body).toMatchObject({ mean: 8.25, version: 2 });
    });
  });

  describe('read-only', () => {
    let seeded: TestApp;
    let testApp: TestApp;
    let readOnly: Database.Database;

    beforeAll(async () => {
      seeded = await createTestApp();
      await request(seeded.app).post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200);
      readOnly = new Database(seeded.dbPath, { readonly: true });
      testApp = await createTestApp({
        dbPath: seeded.dbPath,
        configure: (container) => container.register(WEIGHTS_REPOSITORY, { useValue: new SqliteWeightsRepository(readOnly) }),
      });
      // the seeding app's own connection stays open on the same file, as another process would
    });
    afterAll(async () => {
      readOnly.close();
      await testApp.close();
      await seeded.close();
    });

    it('answers writes 503 and reads 200, without crashing', async () => {
      const api = request(testApp.app);
      const response = await api.post('/SEN0009/fit').send({ values: [1, 2] }).expect(503);
      expect(response.body.detail).toBe('The weights database cannot take this request now: attempt to write a readonly database (SQLITE_READONLY).');
      await api.get('/SEN0001/weights').expect(200);
      await api.get('/SEN0009/weights').expect(404);
    });
  });
});
