import request from 'supertest';
import { withoutRequestId } from '../support/problem-body';
import { createTestApp, type TestApp } from '../support/test-app';

function storageCalls(exposition: string, operation: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`weights_storage_operation_seconds_count{operation="${operation}",result="ok"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('POST /predict (batch scoring)', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { BODY_LIMIT_BATCH: '32mb' } });
    api = request(testApp.app);
    await api.post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200); // threshold 7.5 + 2 * sqrt(17/3) ~ 12.26
    await api.post('/SEN0003/fit?metric=temp').send({ values: [20, 30] }).expect(200); // threshold 25 + 2 * 7.07 ~ 39.1
  });
  afterAll(() => testApp.close());

  it('answers in request order, null where a model is missing, each missing model listed once', async () => {
    const response = await api
      .post('/predict')
      .send({
        items: [
          { sensor_id: 'SEN0001', value: 10 },
          { sensor_id: 'SEN0002', value: 10 },
          { sensor_id: 'SEN0003', metric: 'temp', value: 40 },
          { sensor_id: 'SEN0001', value: 13 },
          { sensor_id: 'SEN0003', value: 40 },
          { sensor_id: 'SEN0002', value: 99 },
        ],
      })
      .expect(200);
    expect(response.body).toEqual({
      predictions: [false, null, true, true, null, null],
      missing: [
        { sensor_id: 'SEN0002', metric: 'value' },
        { sensor_id: 'SEN0003', metric: 'value' },
      ],
    });
  });

  it('scores 100,000 items over 1,000 sensors, reading the models in one storage call', async () => {
    const sensors = Array.from({ length: 1000 }, (_, i) => `B${i}`);
    for (const [index, sensor] of sensors.entries()) {
      await api.post(`/${sensor}/fit`).send({ values: [index, index + 2] }).expect(200); // mean index + 1, std sqrt(2)
    }
    const items = Array.from({ length: 100_000 }, (_, i) => ({ sensor_id: sensors[i % 1000]!, value: (i % 1000) + 1 + (i % 2 === 0 ? 3 : 2) }));
    const before = (await api.get('/metrics')).text;
    const response = await api.post('/predict').send({ items }).expect(200);
    const after = (await api.get('/metrics')).text;
    // All 1,000 models in one storage call, none one by one.
    expect(storageCalls(after, 'find_many') - storageCalls(before, 'find_many')).toBe(1);
    expect(storageCalls(after, 'find') - storageCalls(before, 'find')).toBe(0);
    expect(response.body.missing).toEqual([]);
    // threshold = mean + 2 * sqrt(2) ~ mean + 2.83: +3 is an alert, +2 is not
    expect(response.body.predictions).toEqual(items.map((_, i) => i % 2 === 0));
  }, 60_000);

  it('refuses invalid ids inside the body with 422, naming each item, a repeated one each time', async () => {
    const items = [
      { sensor_id: 'SEN0001', value: 1 },
      { sensor_id: 'bad id', value: 1 },
      { sensor_id: 'SEN0001', metric: '../x', value: 1 },
      { sensor_id: 'bad id', metric: '../x', value: 1 },
    ];
    const response = await api.post('/predict').send({ items }).expect(422);
    const badId = 'Invalid sensor id "bad id": use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.';
    const badMetric = 'Invalid metric name "../x": use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.';
    expect(withoutRequestId(response.body)).toEqual({
      type: 'urn:sensor-alerts:problem:validation-error',
      title: 'Request body is invalid',
      status: 422,
      detail: `#/items/1/sensor_id: ${badId}; #/items/2/metric: ${badMetric}; #/items/3/sensor_id: ${badId}; #/items/3/metric: ${badMetric}`,
      errors: [
        { pointer: '#/items/1/sensor_id', detail: badId },
        { pointer: '#/items/2/metric', detail: badMetric },
        { pointer: '#/items/3/sensor_id', detail: badId },
        { pointer: '#/items/3/metric', detail: badMetric },
      ],
    });
  });

  it.each([
    ['an empty list', { items: [] }, '#/items'],
    ['a string value', { items: [{ sensor_id: 'SEN0001', value: '1' }] }, '#/items/0/value'],
    ['an unknown field', { items: [{ sensor_id: 'SEN0001', value: 1, extra: true }] }, '#/items/0/extra'],
    ['more than 100,000 items', { items: Array.from({ length: 100_001 }, () => ({ sensor_id: 'SEN0001', value: 1 })) }, '#/items'],
  ])('refuses %s with 422', async (_label, body, pointer) => {
    const response = await api.post('/predict').send(body).expect(422);
    expect(response.body.errors[0].pointer).toBe(pointer);
  });

  it('answers 405 to other methods', async () => {
    await api.get('/predict').expect(405).expect('Allow', 'POST, OPTIONS');
  });
});
