import request from 'supertest';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from '../../src/application/ports/weights.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import { createTestApp, type TestApp } from '../support/test-app';

type Operation = { security?: unknown[]; requestBody?: { content: Record<string, { example?: unknown }> }; parameters?: Array<{ name: string; in: string; required?: boolean }>; responses: Record<string, { description: string }> };

const TOKEN = 'documented-statuses-token';

/**
 * Every status a route answers is one /openapi.json documents for it: each route is asked
 * with an unknown query parameter (400), without the token (401 where it needs one), with
 * another method (405), and with storage that cannot serve (503), on a server that wants
 * the token for reads too (API_TOKEN_READS=true).
 */
describe('the statuses /openapi.json documents are the ones each route answers', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;
  let down = false;
  const operations: Array<{ method: string; path: string; operation: Operation }> = [];

  beforeAll(async () => {
    testApp = await createTestApp({
      env: { API_TOKEN: TOKEN, API_TOKEN_READS: 'true' },
      configure: (container) => {
        const real = container.resolve<WeightsRepository>(WEIGHTS_REPOSITORY);
        // While `down`, every call fails as storage that cannot serve (a full disk).
        const failing = new Proxy(real, {
          get: (target, name, receiver) => {
            const member = Reflect.get(target, name, receiver) as unknown;
            if (typeof member !== 'function') return member;
            return (...args: unknown[]) => (down ? Promise.reject(new StorageUnavailableError('the disk is full (SQLITE_FULL)')) : (member as (...a: unknown[]) => unknown).apply(target, args));
          },
        });
        container.register(WEIGHTS_REPOSITORY, { useValue: failing });
      },
    });
    api = request(testApp.app);
    const document = (await api.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, Operation>> };
    for (const [path, byMethod] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(byMethod)) operations.push({ method, path, operation });
    }
    await api.post('/SEN0001/fit').set('Authorization', `Bearer ${TOKEN}`).send({ values: [10, 5, 6, 9] }).expect(200);
  });
  afterAll(() => testApp?.close());

  /** The request the document describes: its path with SEN0001, its required query parameters, its example body. */
  function call(method: string, path: string, operation: Operation, { query = '', token = true } = {}) {
    const required = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query' && parameter.required).map((parameter) => `${parameter.name}=1`);
    const search = [...required, ...(query ? [query] : [])].join('&');
    const url = `${path.replace('{sensor_id}', 'SEN0001')}${search ? `?${search}` : ''}`;
    let pending = (api as unknown as Record<string, (url: string) => request.Test>)[method]!(url);
    if (token) pending = pending.set('Authorization', `Bearer ${TOKEN}`);
    const example = operation.requestBody?.content['application/json']?.example;
    return example === undefined ? pending : pending.send(example as object);
  }

  it('covers every route', () => {
    expect(operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`)).toEqual(expect.arrayContaining(['GET /health', 'POST /predict', 'GET /{sensor_id}/weights', 'DELETE /{sensor_id}/weights', 'GET /docs']));
  });

  it('answers every route a documented success (2xx, or the 301 of /docs/) when asked as documented', async () => {
    // The deletion last, as it takes away the model the other routes use; then the model is fitted again.
    const deletionsLast = [...operations].sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
    for (const { method, path, operation } of deletionsLast) {
      const { status } = await call(method, path, operation);
      expect({ route: `${method} ${path}`, status, documented: status in operation.responses && status < 400 }).toEqual({ route: `${method} ${path}`, status, documented: true });
    }
    await api.post('/SEN0001/fit').set('Authorization', `Bearer ${TOKEN}`).send({ values: [10, 5, 6, 9] }).expect(200);
  });

  it('refuses an unknown query parameter on every route with a documented 400', async () => {
    for (const { method, path, operation } of operations) {
      const response = await call(method, path, operation, { query: 'x=1' });
      expect({ route: `${method} ${path}`, status: response.status, type: response.body.type, documented: '400' in operation.responses }).toEqual({
        route: `${method} ${path}`,
        status: 400,
        type: 'urn:sensor-alerts:problem:invalid-parameter',
        documented: true,
      });
    }
  });

  it('answers 401 without the token exactly where the document asks for it, and documents that 401', async () => {
    for (const { method, path, operation } of operations) {
      const { status } = await call(method, path, operation, { token: false });
      const asksForToken = (operation.security ?? []).some((requirement) => Object.keys(requirement as object).includes('bearer'));
      expect({ route: `${method} ${path}`, unauthorized: status === 401, asksForToken, documented: status !== 401 || '401' in operation.responses }).toEqual({
        route: `${method} ${path}`,
        unauthorized: asksForToken,
        asksForToken,
        documented: true,
      });
    }
  });

  it('documents when a read answers 401: with API_TOKEN_READS=true', async () => {
    const read = operations.find(({ method, path }) => method === 'get' && path === '/{sensor_id}/weights')!;
    expect(read.operation.responses['401']?.description).toMatch(/API_TOKEN_READS=true/);
  });

  it('answers another method 405 on every route, as documented', async () => {
    for (const { method, path, operation } of operations) {
      const other = 'put'; // no route takes PUT
      const { status } = await call(other, path, operation);
      expect({ route: `${method} ${path}`, status, documented: '405' in operation.responses }).toEqual({ route: `${method} ${path}`, status: 405, documented: true });
    }
  });

  it('answers a documented status on every route while the storage cannot serve', async () => {
    down = true;
    try {
      for (const { method, path, operation } of operations) {
        const { status } = await call(method, path, operation);
        expect({ route: `${method} ${path}`, status, documented: String(status) in operation.responses }).toEqual({ route: `${method} ${path}`, status, documented: true });
      }
    } finally {
      down = false;
    }
  });
});
