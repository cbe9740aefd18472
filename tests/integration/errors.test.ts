import request from 'supertest';
import { withoutRequestId } from '../support/problem-body';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from '../../src/application/ports/weights.repository';
import { closeContainer } from '../../src/container';
import { createTestApp, type TestApp } from '../support/test-app';

const PROBLEM_JSON = /^application\/problem\+json; charset=utf-8$/;
const VALIDATION = 'urn:sensor-alerts:problem:validation-error';

/** What a client must never see in an error: stack frames, file paths, framework internals. */
function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/\bat .+\(|node_modules|\/src\/|\.ts:\d|\.js:\d|SqliteError|\/tmp\//);
}

describe('bad input: a clear problem+json 4xx that changes nothing', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  let fitted: Record<string, unknown>;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { BODY_LIMIT_FIT: '64kb' } });
    api = request(testApp.app);
    fitted = (await api.post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200)).body;
  });
  afterAll(() => testApp.close());

  // Every case below must leave SEN0001's weights and history exactly as fitted.
  afterEach(async () => {
    expect((await api.get('/SEN0001/weights').expect(200)).body).toEqual(fitted);
    expect((await api.get('/SEN0001/weights/history').expect(200)).body).toHaveLength(1);
  });

  const postJson = (path: string, body: string) => api.post(path).set('Content-Type', 'application/json').send(body);

  describe('400 malformed JSON', () => {
    it.each(['{"values": [1, 2', '{values: [1, 2]}', "{'values': [1, 2]}", '{"values": [1, 2]} trailing', 'nul', '0x10', "'text'"])(
      'refuses %j',
      async (body) => {
        const response = await postJson('/SEN0001/fit', body).expect(400).expect('Content-Type', PROBLEM_JSON);
        expect(withoutRequestId(response.body)).toEqual({
          type: 'urn:sensor-alerts:problem:malformed-json',
          title: 'Malformed JSON',
          status: 400,
          detail: expect.stringMatching(/^The body is not valid JSON: /),
        });
        expectNoLeak(response.text);
      },
    );
  });

  describe('400 a body that is not UTF-8', () => {
    // The bytes as they are: superagent would JSON-serialise a Buffer given to send().
    const sendBytes = (path: string, bytes: Buffer) => api.post(path).set('Content-Type', 'application/json').serialize(() => bytes as unknown as string).send({});
    it.each([
      ['a byte that starts no character, in a key', Buffer.from('{"values": [1, 2], "k\xff": 3}', 'latin1')],
      ['a truncated sequence at the end of a string', Buffer.from([...Buffer.from('{"values": [1, 2], "note": "'), 0xc3, ...Buffer.from('"}')])],
      ['an encoded surrogate (CESU-8)', Buffer.from([...Buffer.from('{"values": [1, 2], "n": "'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')])],
    ])('refuses %s as malformed JSON, not as replacement characters', async (_case, body) => {
      const response = await sendBytes('/SEN0001/fit', body).expect(400).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'urn:sensor-alerts:problem:malformed-json',
        title: 'Malformed JSON',
        status: 400,
        detail: 'The body is not valid JSON: it is not valid UTF-8 (RFC 8259).',
      });
    });

    it('takes characters outside ASCII when they are valid UTF-8', async () => {
      const response = await sendBytes('/SEN0002/fit', Buffer.from('{"values": [1, 2], "été ✓ 𝄞": 3}')).expect(422);
      expect(response.body.errors).toEqual([expect.objectContaining({ pointer: '#/été ✓ 𝄞' })]);
    });
  });

  describe('400 invalid sensor id', () => {
    it.each(['.hidden', '-dash', 'bad%20id', 'a%2Fb', `${'x'.repeat(65)}`, '%C3%A9t%C3%A9'])('refuses /%s/fit', async (id) => {
      const response = await api.post(`/${id}/fit`).send({ values: [1, 2] }).expect(400).expect('Content-Type', PROBLEM_JSON);
      expect(response.body).toMatchObject({
        type: 'urn:sensor-alerts:problem:invalid-sensor-id',
        title: 'Invalid sensor id',
        status: 400,
        errors: [{ parameter: 'sensor_id', detail: expect.stringContaining('Invalid sensor id') }],
      });
      expect(response.body.detail).toBe(
        `Invalid sensor id ${JSON.stringify(decodeURIComponent(id))}: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
      );
    });

    it.each(['weights', 'weights/history'])('refuses it on GET /{id}/%s too', async (route) => {
      await api.get(`/.x/${route}`).expect(400).expect('Content-Type', PROBLEM_JSON);
    });

    it('is checked before the body, so a bad URL is reported first', async () => {
      const response = await postJson('/-x/predict', '{"value": "high"}').expect(400);
      expect(response.body.type).toBe('urn:sensor-alerts:problem:invalid-sensor-id');
    });

    it('refuses a broken percent-escape in the path', async () => {
      const response = await api.post('/%E0%A4%A/fit').send({ values: [1, 2] }).expect(400).expect('Content-Type', PROBLEM_JSON);
      expect(response.body).toMatchObject({ type: 'urn:sensor-alerts:problem:invalid-sensor-id', title: 'Invalid sensor id', status: 400 });
    });
  });

  describe('400 invalid query parameter', () => {
    it('refuses an invalid metric name', async () => {
      const response = await api.get('/SEN0001/weights?metric=..%2Fetc').expect(400).expect('Content-Type', PROBLEM_JSON);
      expect(response.body).toMatchObject({
        type: 'urn:sensor-alerts:problem:invalid-metric-name',
        status: 400,
        errors: [{ parameter: 'metric' }],
      });
    });

    // As strict as a body: nothing given twice, left empty, written in another base or unknown.
    it.each([
      ['/SEN0001/weights?metric=a&metric=b', 'metric', 'Given more than once; give it once'],
      ['/SEN0001/weights?metric=', 'metric', 'Empty; give a value, or leave the parameter out'],
      ['/SEN0001/weights?limit=5', 'limit', 'Unknown query parameter; this route takes ?metric='],
      ['/SEN0001/weights?Metric=x', 'Metric', 'Unknown query parameter; this route takes ?metric='],
      ['/SEN0001/weights/history?limit=5&limit=6', 'limit', 'Given more than once; give it once'],
      ['/SEN0001/weights/history?limit=', 'limit', 'Empty; give a value, or leave the parameter out'],
      ['/SEN0001/weights/history?limit=0x10', 'limit', 'Expected a whole number in decimal digits, 1 to 1000 (got "0x10")'],
      ['/SEN0001/weights/history?limit=1e2', 'limit', 'Expected a whole number in decimal digits, 1 to 1000 (got "1e2")'],
      ['/SEN0001/weights/history?limit=%205', 'limit', 'Expected a whole number in decimal digits, 1 to 1000 (got " 5")'],
      ['/SEN0001/weights/history?limit=+5', 'limit', 'Expected a whole number in decimal digits, 1 to 1000 (got " 5")'],
      ['/SEN0001/weights/history?limt=5', 'limt', 'Unknown query parameter; this route takes ?metric=, ?limit=, ?before='],
      ['/SEN0001/weights/history?before=0', 'before', 'Expected a version number in decimal digits, 1 to 9007199254740991 (got "0")'],
      ['/SEN0001/weights/history?before=9007199254740992', 'before', 'Expected a version number in decimal digits, 1 to 9007199254740991 (got "9007199254740992")'],
      ['/SEN0001/weights/history?before=12345678901234567', 'before', 'Expected a version number in decimal digits, 1 to 9007199254740991 (got "12345678901234567")'],
      ['/SEN0001/weights/history?before=-1', 'before', 'Expected a version number in decimal digits, 1 to 9007199254740991 (got "-1")'],
      ['/SEN0001/weights/history?before=1.5', 'before', 'Expected a version number in decimal digits, 1 to 9007199254740991 (got "1.5")'],
      ['/alerts?value=1&verbose=true', 'verbose', 'Unknown query parameter; this route takes ?value='],
      // Not percent-encoded UTF-8: quoted as sent, not as U+FFFD.
      ['/SEN0001/weights?%FF=1', '%FF', 'Unknown query parameter; this route takes ?metric='],
    ])('refuses GET %s, naming %s', async (path, parameter, detail) => {
      const response = await api.get(path).expect(400).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'urn:sensor-alerts:problem:invalid-parameter',
        title: 'Query parameter is invalid',
        status: 400,
        detail: `${parameter}: ${detail}`,
        errors: [{ parameter, detail }],
      });
    });

    it('refuses a query parameter on the POST routes too, the body untouched', async () => {
      const before = (await api.get('/SEN0001/weights').expect(200)).body;
      await postJson('/SEN0001/adjust?factor=2', '{}').expect(400);
      await postJson('/SEN0001/fit?metric=value&metric=value', '{"values": [1, 2]}').expect(400);
      const response = await postJson('/predict?dry_run=1', '{"items": [{"sensor_id": "SEN0001", "value": 1}]}').expect(400);
      expect(response.body.errors).toEqual([{ parameter: 'dry_run', detail: 'Unknown query parameter; this route takes no query parameters' }]);
      expect((await api.get('/SEN0001/weights').expect(200)).body).toEqual(before);
    });

    // node:querystring keeps the first 1,000 segments by default and drops the rest unseen.
    it('reads every parameter, after a thousand empty ones too', async () => {
      const empties = '&'.repeat(1000);
      expect((await api.get(`/SEN0001/weights?${empties}metric=value&metric=value`).expect(400)).body.errors).toEqual([
        { parameter: 'metric', detail: 'Given more than once; give it once' },
      ]);
      expect((await api.get(`/health?${empties}x=1`).expect(400)).body.errors).toEqual([{ parameter: 'x', detail: 'Unknown query parameter; this route takes no query parameters' }]);
      await postJson(`/SEN0001/adjust?${empties}metric=m2`, '{}').expect(404); // m2 was never fitted: SEN0001's value model is untouched
      expect((await api.get(`/SEN0001/alerts?${empties}value=1`).expect(200)).body).toEqual({ value: false });
    });

    it('takes plain decimal numbers', async () => {
      expect((await api.get('/SEN0001/weights/history?limit=007').expect(200)).body.length).toBeGreaterThan(0);
    });

    it.each(['0', '1001', '2.5', 'ten', ''])('refuses history limit=%j', async (limit) => {
      const response = await api.get(`/SEN0001/weights/history?limit=${limit}`).expect(400);
      expect(response.body).toMatchObject({ type: 'urn:sensor-alerts:problem:invalid-parameter', errors: [{ parameter: 'limit' }] });
    });
  });

  describe('422 body that parses but breaks the schema', () => {
    const cases: Array<[string, string, string, Array<{ pointer: string; detail: string }>]> = [
      ['fit', '{}', 'missing values', [{ pointer: '#/values', detail: 'Required: expected array' }]],
      ['fit', '[1, 2, 3]', 'a bare array', [{ pointer: '#', detail: 'Invalid input: expected object, received array' }]],
      ['fit', '{"values": "1,2,3"}', 'a string', [{ pointer: '#/values', detail: 'Invalid input: expected array, received string' }]],
      ['fit', '{"values": []}', 'an empty list', [{ pointer: '#/values', detail: 'Too small: expected array to have >=1 items' }]],
      ['fit', '{"values": [1, true, 3]}', 'a boolean item', [{ pointer: '#/values/1', detail: 'Invalid input: expected number, received boolean' }]],
      ['fit', '{"values": [1, "2", 3]}', 'a numeric string', [{ pointer: '#/values/1', detail: 'Invalid input: expected number, received string' }]],
      ['fit', '{"values": [1, 1e999]}', 'an overflowing number', [{ pointer: '#/values/1', detail: 'Invalid input: expected number, received Infinity' }]],
      ['fit', '{"values": [1, [2]]}', 'a nested list', [{ pointer: '#/values/1', detail: 'Invalid input: expected number, received array' }]],
      ['fit', '{"values": [1, 2], "value": 3}', 'an unknown field', [{ pointer: '#/value', detail: 'Unexpected field' }]],
      ['predict', '{}', 'missing value', [{ pointer: '#/value', detail: 'Required: expected number' }]],
      ['predict', '{"value": null}', 'a null value', [{ pointer: '#/value', detail: 'Invalid input: expected number, received null' }]],
      ['predict', '{"value": "10"}', 'a string value', [{ pointer: '#/value', detail: 'Invalid input: expected number, received string' }]],
      ['predict', '{"value": false}', 'a boolean value', [{ pointer: '#/value', detail: 'Invalid input: expected number, received boolean' }]],
      ['predict', '{"value": -1e999}', 'a non-finite value', [{ pointer: '#/value', detail: 'Invalid input: expected number, received -Infinity' }]],
      ['predict', '{"values": [10]}', 'the fit body', [
        { pointer: '#/value', detail: 'Required: expected number' },
        { pointer: '#/values', detail: 'Unexpected field' },
      ]],
      ['adjust', '{"factor": 2}', 'an adjust with input', [{ pointer: '#/factor', detail: 'Unexpected field' }]],
      ['rollback', '{"version": 1.5}', 'a fractional version', [{ pointer: '#/version', detail: 'Expected a whole number' }]],
      ['adjust', '[]', 'an adjust with a list', [{ pointer: '#', detail: 'Invalid input: expected object, received array' }]],
      // Valid JSON, just not an object: the shape is wrong (422), not the syntax (400).
      ['fit', '10', 'a bare number', [{ pointer: '#', detail: 'Invalid input: expected object, received number' }]],
      ['fit', 'null', 'a bare null', [{ pointer: '#', detail: 'Invalid input: expected object, received null' }]],
      ['predict', 'true', 'a bare boolean', [{ pointer: '#', detail: 'Invalid input: expected object, received boolean' }]],
      ['predict', '"text"', 'a bare string', [{ pointer: '#', detail: 'Invalid input: expected object, received string' }]],
      ['adjust', 'null', 'an adjust with null', [{ pointer: '#', detail: 'Invalid input: expected object, received null' }]],
      ['adjust', '0', 'an adjust with 0', [{ pointer: '#', detail: 'Invalid input: expected object, received number' }]],
    ];

    it.each(['fit', 'predict'])('POST /SEN0001/%s with no body at all says so', async (route) => {
      const response = await api.post(`/SEN0001/${route}`).expect(422).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: VALIDATION,
        title: 'Request body is invalid',
        status: 422,
        detail: '#: The request has no body: send a JSON object',
        errors: [{ pointer: '#', detail: 'The request has no body: send a JSON object' }],
      });
    });

    it.each(cases)('POST /SEN0001/%s with %s (%s)', async (route, body, _label, errors) => {
      const response = await postJson(`/SEN0001/${route}`, body).expect(422).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: VALIDATION,
        title: 'Request body is invalid',
        status: 422,
        detail: errors.map((error) => `${error.pointer}: ${error.detail}`).join('; '),
        errors,
      });
    });

    it.each([
      ['{"values": [3]}', 1],
      ['{"values": [null, null]}', 0],
      ['{"values": [null, 4, null]}', 1],
    ])('refuses fewer than two non-null values: %s', async (body, usable) => {
      const detail = `At least 2 non-null readings are needed to estimate a sample standard deviation; got ${usable}.`;
      const response = await postJson('/SEN0001/fit', body).expect(422).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'urn:sensor-alerts:problem:insufficient-readings',
        title: 'Not enough readings',
        status: 422,
        detail,
        errors: [{ pointer: '#/values', detail }],
      });
    });

    it('refuses readings whose statistics overflow a double', async () => {
      const response = await postJson('/SEN0001/fit', '{"values": [1.5e308, -1.5e308]}').expect(422);
      expect(response.body.type).toBe('urn:sensor-alerts:problem:unrepresentable-weights');
    });

    it('words the first 10 bad items and says how many there were', async () => {
      const response = await postJson('/SEN0001/fit', JSON.stringify({ values: Array(500).fill(true) })).expect(422);
      expect(response.body.errors).toHaveLength(10);
      expect(response.body.detail).toMatch(/^500 invalid items in #\/values; the first 10 problems: #\/values\/0: /);
    });
  });

  describe('404 unknown sensor or route', () => {
    it.each([
      ['get', '/index.html'],
      ['get', '/SEN0001'],
      ['get', '/SEN0001/unknown'],
      ['post', '/SEN0001/fit/extra'],
      ['get', '/SEN0001/weights/history/old'],
    ] as const)('%s %s', async (method, path) => {
      const response = await api[method](path).expect(404).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `No route for ${method.toUpperCase()} ${JSON.stringify(path)}.`,
      });
    });

    it('on predict and adjust for a sensor never fitted', async () => {
      await api.post('/SEN0002/predict').send({ value: 1 }).expect(404).expect('Content-Type', PROBLEM_JSON);
      await api.post('/SEN0002/adjust').expect(404).expect('Content-Type', PROBLEM_JSON);
      await api.get('/SEN0002/weights').expect(404);
    });
  });

  describe('405 wrong method on a known route', () => {
    it.each([
      ['get', '/SEN0001/fit', 'POST, OPTIONS'],
      ['put', '/SEN0001/weights', 'GET, DELETE, HEAD, OPTIONS'],
      ['patch', '/SEN0001/weights', 'GET, DELETE, HEAD, OPTIONS'],
      ['delete', '/SEN0001/weights/history', 'GET, HEAD, OPTIONS'],
      ['get', '/SEN0001/predict', 'POST, OPTIONS'],
      ['get', '/SEN0001/adjust', 'POST, OPTIONS'],
      ['post', '/health', 'GET, HEAD, OPTIONS'],
    ] as const)('%s %s answers 405 with Allow: %s', async (method, path, allow) => {
      const response = await api[method](path).expect(405).expect('Content-Type', PROBLEM_JSON).expect('Allow', allow);
      expect(response.body).toMatchObject({ type: 'about:blank', title: 'Method Not Allowed', status: 405 });
    });

    it('answers OPTIONS with 204 and Allow', async () => {
      await api.options('/SEN0001/fit').expect(204).expect('Allow', 'POST, OPTIONS');
    });
  });

  describe('413 body over BODY_LIMIT_FIT', () => {
    it('refuses a body larger than the limit', async () => {
      const values = Array.from({ length: 20_000 }, (_, i) => i);
      const response = await api.post('/SEN0001/fit').send({ values }).expect(413).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'about:blank',
        title: 'Content Too Large',
        status: 413,
        detail: `The request body (${JSON.stringify({ values }).length} bytes) is larger than this route's 65536-byte limit (BODY_LIMIT_FIT).`,
      });
    });

    it('states the limit, and no size, for a chunked body (its size is unknown)', async () => {
      const body = JSON.stringify({ values: Array.from({ length: 20_000 }, (_, i) => i) });
      const response = await new Promise<request.Response>((resolve, reject) => {
        const sending = api.post('/SEN0001/fit').set('Content-Type', 'application/json');
        sending.write(body.slice(0, 40_000));
        sending.write(body.slice(40_000));
        sending.end((error, answer) => (answer ? resolve(answer) : reject(error as Error)));
      });
      expect(response.status).toBe(413);
      expect(response.body.detail).toBe("The request body is larger than this route's 65536-byte limit (BODY_LIMIT_FIT).");
    });
  });

  describe('415 non-JSON body', () => {
    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x'])(
      'refuses %s',
      async (type) => {
        const response = await api.post('/SEN0001/fit').set('Content-Type', type).send('{"values": [1, 2]}').expect(415);
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(withoutRequestId(response.body)).toEqual({
          type: 'about:blank',
          title: 'Unsupported Media Type',
          status: 415,
          detail: `Send the body as application/json (received ${JSON.stringify(type)}).`,
        });
      },
    );

    it('refuses a body without a Content-Type', async () => {
      const response = await api.post('/SEN0001/adjust').set('Content-Type', '').send(Buffer.from('{}')).expect(415);
      expect(response.body.detail).toBe('Send the body as application/json (received no Content-Type).');
    });

    it('refuses an unsupported charset', async () => {
      const response = await api.post('/SEN0001/fit').set('Content-Type', 'application/json; charset=latin-9').send('{"values":[1,2]}');
      expect(response.status).toBe(415);
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    });
  });
});

describe('server faults', () => {
  it('answer 500 problem+json without a stack, a path or the cause, and log the cause', async () => {
    const failing: Partial<WeightsRepository> = {
      find: () => Promise.reject(new Error('disk I/O error at /var/lib/secret/sensors.db')),
    };
    const testApp = await createTestApp({ configure: (container) => container.register(WEIGHTS_REPOSITORY, { useValue: failing }) });
    try {
      const response = await request(testApp.app).get('/SEN0001/weights').expect(500).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'The server failed to handle this request; the failure has been logged.',
      });
      expect(response.text).not.toContain('secret');
      expectNoLeak(response.text);
    } finally {
      await testApp.close();
    }
  });

  it('/health answers 503 problem+json when the database no longer answers', async () => {
    const testApp = await createTestApp();
    try {
      await request(testApp.app).get('/health').expect(200);
      await closeContainer(testApp.container);
      const response = await request(testApp.app).get('/health').expect(503).expect('Content-Type', PROBLEM_JSON);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'The weights database does not answer.',
      });
    } finally {
      await testApp.close();
    }
  });
});
