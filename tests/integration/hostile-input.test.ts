import request from 'supertest';
import { startHttpServer, type RunningServer } from '../../src/interfaces/http/http-server';
import { withoutRequestId } from '../support/problem-body';
import { bodyOf, rawRequest } from '../support/raw-http';
import { createTestApp, type TestApp } from '../support/test-app';

const TOKEN = 'correct-horse-battery-staple';
const AUTH = `Bearer ${TOKEN}`;

// Inputs sent to stall or blind the service: each is refused cheaply and changes nothing.
describe('hostile input', () => {
  let testApp: TestApp;
  let server: RunningServer;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { API_TOKEN: TOKEN } });
    server = await startHttpServer(testApp.app, 0, '127.0.0.1', { requestTimeoutMs: 30_000, responseTimeoutMs: 30_000 });
    api = request(server.url);
    await api.post('/SEN0001/fit').set('Authorization', AUTH).send({ values: [10, 5, 6, 9] }).expect(200);
  });
  afterAll(async () => {
    await server.close(0);
    await testApp.close();
  });

  afterEach(async () => {
    expect((await api.get('/SEN0001/weights').expect(200)).body).toMatchObject({ mean: 7.5, version: 1 });
  });

  describe('body limits per route', () => {
    // {"value":1,"k0":0,...}: a few thousand keys are enough to exceed what one number needs.
    const manyKeys = `{"value":1,${Array.from({ length: 5000 }, (_, i) => `"k${i}":0`).join(',')}}`;

    it.each([
      ['/SEN0001/predict', AUTH],
      ['/SEN0001/adjust', AUTH],
    ])('POST %s reads at most BODY_LIMIT_SMALL (1kb by default): 413 naming it', async (path, authorization) => {
      const response = await api.post(path).set('Authorization', authorization).set('Content-Type', 'application/json').send(manyKeys).expect(413);
      expect(withoutRequestId(response.body)).toEqual({
        type: 'about:blank',
        title: 'Content Too Large',
        status: 413,
        detail: `The request body (${manyKeys.length} bytes) is larger than this route's 1024-byte limit (BODY_LIMIT_SMALL).`,
      });
    });

    it('still takes a predict body of a few hundred bytes, whitespace included', async () => {
      const body = `{ ${' '.repeat(600)} "value": -2.2250738585072014e-308 }`;
      expect((await api.post('/SEN0001/predict').set('Content-Type', 'application/json').send(body).expect(200)).body).toBe(false);
    });

    it('gives fit and batch predict their own, larger limits', async () => {
      const values = Array.from({ length: 20_000 }, (_, i) => i % 7);
      const items = Array.from({ length: 5000 }, () => ({ sensor_id: 'SEN0001', value: 1 }));
      await api.post('/SEN0002/fit').set('Authorization', AUTH).send({ values }).expect(200);
      expect((await api.post('/predict').send({ items }).expect(200)).body.predictions).toHaveLength(5000);
    });
  });

  describe('ambiguous or invalid headers', () => {
    const answerTo = async (head: string) => {
      const exchange = await rawRequest(server.url, head);
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      exchange.socket.destroy();
      return { status: Number(answer.slice(9, 12)), body: bodyOf(answer) as Record<string, unknown>, answer };
    };

    it.each([
      ['two Host headers', 'Host: localhost\r\nHost: evil.example', 'Send one Host header.'],
      ['a port out of range', 'Host: evil.com:99999', 'The Host header "evil.com:99999" is not a valid host and port.'],
      ['a space in the host', 'Host: evil com', 'The Host header "evil com" is not a valid host and port.'],
      ['a path in the host', 'Host: evil.com/x', 'The Host header "evil.com/x" is not a valid host and port.'],
      ['two Authorization headers', `Host: localhost\r\nAuthorization: ${AUTH}\r\nAuthorization: Bearer someone-elses-token`, 'Send one Authorization header.'],
    ])('refuses %s: 400 problem+json with a request id, and changes nothing', async (_label, headers, detail) => {
      const { status, body, answer } = await answerTo(`POST /SEN0001/adjust HTTP/1.1\r\n${headers}\r\nConnection: close\r\n\r\n`);
      expect(status).toBe(400);
      expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/);
      expect(withoutRequestId(body)).toEqual({ type: 'about:blank', title: 'Bad Request', status: 400, detail });
    });

    it.each([
      ['101 header fields', 101],
      ['2,500 header fields, the Idempotency-Key last (Node keeps the first 2,000 only)', 2500],
    ])('refuses %s: 431, and changes nothing', async (_label, count) => {
      const fields = Array.from({ length: count - 3 }, (_, index) => `a${index}: b\r\n`).join('');
      const head = `POST /SEN0001/adjust HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${AUTH}\r\n${fields}Idempotency-Key: many-fields\r\nConnection: close\r\n\r\n`;
      const { status, body } = await answerTo(head);
      expect(status).toBe(431);
      expect(withoutRequestId(body)).toEqual({ type: 'about:blank', title: 'Request Header Fields Too Large', status: 431, detail: 'The request has more than 100 header fields.' });
    });

    it('accepts 100 header fields', async () => {
      const fields = Array.from({ length: 98 }, (_, index) => `a${index}: b\r\n`).join('');
      expect((await answerTo(`GET /health HTTP/1.1\r\nHost: localhost\r\n${fields}Connection: close\r\n\r\n`)).status).toBe(200);
    });

    it.each(['http://evil.com:99999/SEN0001/adjust', 'http://[zz]:80/SEN0001/adjust', 'http:///SEN0001/adjust'])(
      'refuses a request target in absolute form whose host is invalid (%s), whatever Host says (RFC 9112 §3.2.2)',
      async (target) => {
        const { status, body } = await answerTo(`POST ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${AUTH}\r\nConnection: close\r\n\r\n`);
        expect(status).toBe(400);
        expect((body as { detail: string }).detail).toMatch(/^The request target's host ".*" is not a valid host and port\.$/);
      },
    );

    it('accepts a request target in absolute form with a valid host', async () => {
      expect((await answerTo('GET http://localhost:3000/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).status).toBe(200);
    });

    it.each(['localhost', 'localhost:3000', '127.0.0.1:65535', '[::1]:8080', 'sensor-alerts.internal'])('accepts Host: %s', async (host) => {
      expect((await answerTo(`GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status).toBe(200);
    });

    it('accepts a bearer token after several spaces, as RFC 9110 allows', async () => {
      await api.post('/SEN0009/fit').set('Authorization', `Bearer    ${TOKEN}`).send({ values: [1, 2] }).expect(200);
      await api.post('/SEN0009/fit').set('Authorization', `Bearer    ${TOKEN}x`).send({ values: [1, 2] }).expect(401);
    });
  });

  describe('a chunked body without a Content-Type', () => {
    const chunked = (method: string, path: string, chunks: string) =>
      `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${AUTH}\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`;
    const fitted = (sensor: string) => api.post(`/${sensor}/fit`).set('Authorization', AUTH).send({ values: [10, 5, 6, 9] }).expect(200);

    it.each([
      ['DELETE', 'CHUNKED-DELETE', '/weights', 404],
      ['POST', 'CHUNKED-ADJUST', '/adjust', 200],
    ])('is no body when it is empty, as Content-Length: 0 is: %s answers, and the connection stays', async (method, sensor, route, after) => {
      await fitted(sensor);
      const exchange = await rawRequest(server.url, chunked(method, `/${sensor}${route}`, '0\r\n\r\n'));
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(bodyOf(answer)).toMatchObject({ sensor_id: sensor, version: 2 });
      expect(await exchange.closedWithin(300)).toBe(false);
      exchange.socket.destroy();
      expect((await api.get(`/${sensor}/weights`)).status).toBe(after);
    });

    it('gets the answer of no body where a body is needed (422, as with Content-Length: 0)', async () => {
      const exchange = await rawRequest(server.url, chunked('POST', '/CHUNKED-FIT/fit', '0\r\n\r\n'));
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      exchange.socket.destroy();
      expect(bodyOf(answer)).toMatchObject({ status: 422, detail: '#: The request has no body: send a JSON object' });
    });

    it('is refused (415) at its first byte, the connection closed, and nothing changed', async () => {
      await fitted('CHUNKED-BYTES');
      const exchange = await rawRequest(server.url, chunked('POST', '/CHUNKED-BYTES/adjust', '2\r\n{}\r\n')); // never ended
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 415 Unsupported Media Type\r\n/);
      expect(bodyOf(answer)).toMatchObject({ detail: 'Send the body as application/json (received no Content-Type).' });
      expect(await exchange.closedWithin(2000)).toBe(true);
      expect((await api.get('/CHUNKED-BYTES/weights').expect(200)).body).toMatchObject({ version: 1 });
    });
  });

  describe('a request refused for its token', () => {
    it('is answered 401 without "100 Continue" when it sends Expect: 100-continue: its body is never invited', async () => {
      const exchange = await rawRequest(
        server.url,
        'POST /SEN0001/fit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16\r\nExpect: 100-continue\r\n\r\n',
      );
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      exchange.socket.destroy();
    });

    it('is answered 401 at once and its connection closed, without reading the body', async () => {
      const exchange = await rawRequest(
        server.url,
        'POST /SEN0001/fit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500000000\r\n\r\n{"values":[',
      );
      exchange.socket.write('1,'.repeat(32_000)); // a little of the 500 MB; the rest never comes
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      expect(bodyOf(answer)).toMatchObject({ status: 401, detail: 'Send Authorization: Bearer <API_TOKEN>.' });
      expect(await exchange.closedWithin(2000)).toBe(true);
    });

    it('is closed the same way when the token is right but the announced body is over the limit', async () => {
      const exchange = await rawRequest(
        server.url,
        `POST /SEN0001/predict HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nContent-Length: 500000000\r\n\r\n{`,
      );
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
      expect(await exchange.closedWithin(2000)).toBe(true);
    });

    it('refuses a chunked body as soon as it passes the limit, not when the client ends it', async () => {
      const exchange = await rawRequest(
        server.url,
        `POST /SEN0001/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      exchange.socket.write(`800\r\n{"value":1${' '.repeat(2048 - 11)}\r\n`); // 2 KB of an endless body
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
      expect(bodyOf(answer)).toMatchObject({ detail: "The request body is larger than this route's 1024-byte limit (BODY_LIMIT_SMALL)." });
      expect(await exchange.closedWithin(2000)).toBe(true);
    });

    it('runs none of the writes pipelined after a 413 that closes the connection (RFC 9112 §9.6)', async () => {
      const big = JSON.stringify({ pad: 'x'.repeat(2000) });
      const adjust = (body: string) => `POST /SEN0001/adjust HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const exchange = await rawRequest(server.url, adjust(big) + adjust('') + adjust('{}'));
      expect(await exchange.closedWithin(3000)).toBe(true);
      expect(exchange.received()).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
      expect(exchange.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
      // afterEach: SEN0001 is still version 1, neither adjust applied.
    });

    it('keeps the connection of a refused request without a body', async () => {
      const exchange = await rawRequest(server.url, 'POST /SEN0001/adjust HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000)).toMatch(/^HTTP\/1\.1 401 /);
      expect(await exchange.closedWithin(300)).toBe(false);
      exchange.socket.destroy();
    });
  });
});

describe('error answers stay small whatever the input', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
  });
  afterAll(() => testApp.close());

  const rule = 'use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.';
  // The first 80 characters, JSON-quoted (a backslash shows as two), then the length.
  const backslashes = (count: number) => `"${'\\\\'.repeat(80)}"… (${count} characters)`;

  it('quotes a short escaped prefix of a megabyte id in a batch, once per place', async () => {
    const id = '\\'.repeat(1_000_000);
    const response = await api.post('/predict').send({ items: [{ sensor_id: id, value: 1 }] }).expect(422);
    const detail = `Invalid sensor id ${backslashes(1_000_000)}: ${rule}`;
    expect(withoutRequestId(response.body)).toEqual({
      type: 'urn:sensor-alerts:problem:validation-error',
      title: 'Request body is invalid',
      status: 422,
      detail: `#/items/0/sensor_id: ${detail}`,
      errors: [{ pointer: '#/items/0/sensor_id', detail }],
    });
    expect(response.text.length).toBeLessThan(1500);
  });

  it('names a megabyte unexpected key by its prefix', async () => {
    const key = 'k'.repeat(1_000_000);
    const response = await api.post('/SEN0001/fit').send({ values: [1, 2], [key]: 0 }).expect(422);
    const pointer = `#/"${'k'.repeat(80)}"… (1000000 characters)`;
    expect(response.body.errors).toEqual([{ pointer, detail: 'Unexpected field' }]);
    expect(response.text.length).toBeLessThan(1000);
  });

  it('quotes a long metric name, path or media type by its prefix', async () => {
    const long = 'm'.repeat(5000);
    const metric = await api.get(`/SEN0001/weights?metric=${long}`).expect(400);
    expect(metric.body.detail).toBe(`Invalid metric name "${'m'.repeat(80)}"… (5000 characters): ${rule}`);
    const path = await api.get(`/${long}/nowhere`).expect(404);
    expect(path.body.detail).toBe(`No route for GET "/${'m'.repeat(79)}"… (5009 characters).`);
    const media = await api.post('/SEN0001/fit').set('Content-Type', `text/${long}`).send('1').expect(415);
    expect(media.body.detail).toBe(`Send the body as application/json (received "text/${'m'.repeat(75)}"… (5005 characters)).`);
    const charset = await api.post('/SEN0001/fit').set('Content-Type', `application/json; charset=${long}`).send('{"values":[1,2]}').expect(415);
    expect(charset.body.detail).toBe(`Send the body as UTF-8 JSON (received charset "${'m'.repeat(80)}"… (5000 characters)).`);
    for (const response of [metric, path, media, charset]) expect(response.text.length).toBeLessThan(1000);
  });
});

describe('surface: docs assets, headers, routing', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
    await api.post('/SEN1/fit').send({ values: [10, 5, 6, 9] }).expect(200);
  });
  afterAll(() => testApp.close());

  it('serves under /docs/assets exactly the files the docs page loads', async () => {
    const page = (await api.get('/docs').expect(200)).text;
    // Relative to the page, /docs: under a proxy's prefix they stay under it.
    const relative = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(relative.map((url) => new URL(url, 'https://proxy.example/sensors/docs').pathname).every((path) => path.startsWith('/sensors/docs/assets/'))).toBe(true);
    const loaded = relative.map((url) => new URL(url, 'http://localhost/docs').pathname);
    expect(loaded.sort()).toEqual(['/docs/assets/docs.js', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']);
    for (const asset of loaded) await api.get(asset).expect(200);
    for (const other of ['package.json', 'README.md', 'index.html', 'swagger-initializer.js', 'oauth2-redirect.html', 'swagger-ui-bundle.js.map', '', '../package.json', '%2e%2e/package.json']) {
      const response = await api.get(`/docs/assets/${other}`);
      expect({ other, status: response.status }).toEqual({ other, status: 404 });
    }
  });

  it('sends X-Content-Type-Options: nosniff on every answer', async () => {
    const answers = await Promise.all([
      api.get('/health'),
      api.get('/SEN1/weights'),
      api.get('/SEN9/weights'),
      api.post('/SEN1/predict').send({ value: 'x' }),
      api.get('/nowhere'),
      api.get('/docs'),
      api.get('/docs/assets/swagger-ui.css'),
      api.get('/openapi.json'),
      api.get('/metrics'),
    ]);
    for (const response of answers) expect({ url: response.request.url, nosniff: response.headers['x-content-type-options'] }).toEqual({ url: response.request.url, nosniff: 'nosniff' });
  });

  it('puts /docs under a Content-Security-Policy that no other site may frame', async () => {
    const response = await api.get('/docs').expect(200);
    const policy = String(response.headers['content-security-policy']);
    expect(policy.split('; ')).toEqual(expect.arrayContaining(["frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"]));
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.text).not.toMatch(/<script>/); // no inline script: 'self' only
  });

  it('matches routes case-sensitively and strictly', async () => {
    for (const [method, path] of [['post', '/SEN1/FIT'], ['post', '/SEN1/Predict'], ['get', '/SEN1/WEIGHTS'], ['get', '/HEALTH'], ['get', '/health/'], ['get', '/SEN1/weights/'], ['get', '/DOCS']] as const) {
      const response = await api[method](path).send(method === 'post' ? { values: [1, 2] } : undefined);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    expect((await api.get('/SEN1/weights').expect(200)).body).toMatchObject({ version: 1 });
  });

  it('answers an undecodable sensor id as an invalid sensor id', async () => {
    for (const path of ['/%FF%FE/weights', '/%E0%A4%A/fit', '/%C0%AF/predict']) {
      const response = await api[path.endsWith('weights') ? 'get' : 'post'](path).expect(400);
      const id = path.split('/')[1]!;
      expect(withoutRequestId(response.body)).toEqual({
        type: 'urn:sensor-alerts:problem:invalid-sensor-id',
        title: 'Invalid sensor id',
        status: 400,
        detail: `Invalid sensor id "${id}": use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
        errors: [{ parameter: 'sensor_id', detail: `Invalid sensor id "${id}": use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.` }],
      });
    }
  });
});
