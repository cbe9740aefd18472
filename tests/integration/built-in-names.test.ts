import request from 'supertest';
import { runCli } from '../support/cli';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Sensor ids and metric names are user strings: JavaScript's built-in property names
 * (`constructor`, `toString`, ...) and integer-like ids (`9`, `10`, `007`) must behave like
 * any other name through every route and CLI format that lists them, and lists keep the
 * documented byte order of ids (not JavaScript's numeric-first key order).
 */
const MODELS: ReadonlyArray<readonly [sensor: string, metric: string, readings: number[]]> = [
  ['constructor', 'keys', [1, 3]], // threshold 2 + 2 * sqrt(2)
  ['constructor', 'value', [0, 0.5]],
  ['toString', 'value', [10, 12]],
  ['9', 'value', [0, 0.1]],
  ['10', 'value', [0, 0.1]],
  ['007', 'constructor', [0, 0.1]],
  ['A', 'hasOwnProperty', [5, 7]],
  ['A', 'toString', [0, 0.1]],
  ['valueOf', 'prototype', [0, 0.1]],
];

/** In byte order of sensor id, then metric, as GET /alerts promises; alert at value 1 iff 1 >= mean + 2 std. */
const EXPECTED_AT_1 =
  '{"007":{"constructor":true},"10":{"value":true},"9":{"value":true},' +
  '"A":{"hasOwnProperty":false,"toString":true},"constructor":{"keys":false,"value":true},' +
  '"toString":{"value":false},"valueOf":{"prototype":true}}';

describe('built-in property names and integer-like ids', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
    for (const [sensor, metric, readings] of MODELS) await api.post(`/${sensor}/fit?metric=${metric}`).send({ values: readings }).expect(200);
  });
  afterAll(() => testApp.close());

  it('GET /alerts lists every model, in byte order, and breaks nothing for later requests', async () => {
    for (let round = 0; round < 2; round++) {
      const response = await api.get('/alerts?value=1').expect(200).expect('Content-Type', /^application\/json/);
      expect(response.text).toBe(EXPECTED_AT_1);
    }
    await api.get('/health').expect(200, { status: 'ok' });
    expect(Object.keys({ a: 1 })).toEqual(['a']); // the process's Object is untouched
  });

  it('GET /{sensor_id}/alerts answers each such sensor', async () => {
    expect((await api.get('/constructor/alerts?value=1').expect(200)).text).toBe('{"keys":false,"value":true}');
    expect((await api.get('/A/alerts?value=1').expect(200)).text).toBe('{"hasOwnProperty":false,"toString":true}');
    expect((await api.get('/007/alerts?value=1').expect(200)).text).toBe('{"constructor":true}');
    await api.get('/hasOwnProperty/alerts?value=1').expect(404);
  });

  it('weights, predict, adjust and history work for them like for any name', async () => {
    expect((await api.get('/constructor/weights?metric=keys').expect(200)).body).toMatchObject({ sensor_id: 'constructor', metric: 'keys', mean: 2, n: 2 });
    expect((await api.post('/toString/predict').send({ value: 20 }).expect(200)).body).toBe(true);
    expect((await api.post('/valueOf/adjust?metric=prototype').expect(200)).body).toMatchObject({ mean: 0.05 * 1.1, version: 2 });
    expect((await api.get('/valueOf/weights/history?metric=prototype').expect(200)).body).toHaveLength(2);
    await api.get('/__proto__/weights').expect(400);
  });

  it('POST /predict (batch) finds them, and lists the missing ones by their names', async () => {
    const response = await api
      .post('/predict')
      .send({
        items: [
          { sensor_id: 'constructor', metric: 'keys', value: 100 },
          { sensor_id: '9', value: -1 },
          { sensor_id: 'toString', metric: 'constructor', value: 1 },
          { sensor_id: 'hasOwnProperty', value: 1 },
        ],
      })
      .expect(200);
    expect(response.body).toEqual({
      predictions: [true, false, null, null],
      missing: [
        { sensor_id: 'toString', metric: 'constructor' },
        { sensor_id: 'hasOwnProperty', metric: 'value' },
      ],
    });
  });

  it('npm run alerts prints them in every format, in byte order', () => {
    const json = runCli('alerts', ['--value', '1', '--format', 'json'], testApp.dbPath);
    expect(json.status).toBe(0);
    expect(json.stdout).toBe(
      [
        '{',
        '  "007": {',
        '    "constructor": true',
        '  },',
        '  "10": {',
        '    "value": true',
        '  },',
        '  "9": {',
        '    "value": true',
        '  },',
        '  "A": {',
        '    "hasOwnProperty": false,',
        '    "toString": true',
        '  },',
        '  "constructor": {',
        '    "keys": false,',
        '    "value": true',
        '  },',
        '  "toString": {',
        '    "value": false',
        '  },',
        '  "valueOf": {',
        '    "prototype": true',
        '  }',
        '}',
        '',
      ].join('\n'),
    );

    const csv = runCli('alerts', ['--value', '1', '--format', 'csv'], testApp.dbPath);
    expect(csv.stdout).toBe(
      [
        'sensor_id,constructor,hasOwnProperty,keys,prototype,toString,value',
        '007,true,,,,,',
        '10,,,,,,true',
        '9,,,,,,true',
        'A,,false,,,true,',
        'constructor,,,false,,,true',
        'toString,,,,,,false',
        'valueOf,,,,true,,',
        '',
      ].join('\n'),
    );

    const table = runCli('alerts', ['--value', '1', '--sensor', 'constructor'], testApp.dbPath);
    expect(table.stdout).toBe(['sensor_id    keys  value', 'constructor  F     T', 'T = alert (1 >= mean + 2 * std): 1 of 2', ''].join('\n'));
  });
});
