import type { Express } from 'express';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { PinoLogger } from '../../src/infrastructure/logging/pino-logger';
import { spawnServer, waitForListening } from '../support/server-process';
import { createTestApp, makeTempDir, type TestApp } from '../support/test-app';

/** The value of one sample of a Prometheus text exposition, or undefined. */
function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = exposition
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}{`) && wanted.every((label) => candidate.includes(label)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('observability: metrics, request ids, logs, OpenAPI, docs', () => {
  const logLines: Array<Record<string, unknown>> = [];
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    const capture = { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) };
    testApp = await createTestApp({
      configure: (container) => container.register(PinoLogger, { useValue: new PinoLogger('info', 'json', capture) }),
    });
    api = request(testApp.app);
    await api.post('/SEN0001/fit').send({ values: [10, 5, 6, 9] }).expect(200);
  });
  afterAll(() => testApp.close());

  const scrape = async () => (await api.get('/metrics').expect(200).expect('Content-Type', /^text\/plain/)).text;

  describe('GET /metrics', () => {
    it('counts a predict under its route template, and predictions by outcome', async () => {
      const before = await scrape();
      await api.post('/SEN0001/predict').send({ value: 100 }).expect(200);
      await api.post('/SEN0001/predict').send({ value: 1 }).expect(200);
      await api.post('/SEN0001/predict').send({ value: 2 }).expect(200);
      const after = await scrape();
      const labels = { method: 'POST', route: '/:sensor_id/predict', status_class: '2xx' };
      expect((sample(after, 'http_requests_total', labels) ?? 0) - (sample(before, 'http_requests_total', labels) ?? 0)).toBe(3);
      expect(sample(after, 'http_request_duration_seconds_count', labels)).toBe(sample(after, 'http_requests_total', labels));
      expect((sample(after, 'sensor_predictions_total', { outcome: 'alert' }) ?? 0) - (sample(before, 'sensor_predictions_total', { outcome: 'alert' }) ?? 0)).toBe(1);
      expect((sample(after, 'sensor_predictions_total', { outcome: 'no_alert' }) ?? 0) - (sample(before, 'sensor_predictions_total', { outcome: 'no_alert' }) ?? 0)).toBe(2);
    });

    it('never turns a sensor id or a raw path into a label value', async () => {
      const randomId = `S${Math.random().toString(36).slice(2)}`;
      await api.get(`/${randomId}/weights`).expect(404);
      await api.get(`/${randomId}/nowhere/at/all`).expect(404);
      const exposition = await scrape();
      expect(exposition).not.toContain(randomId);
      expect(sample(exposition, 'http_requests_total', { route: '/:sensor_id/weights', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
      expect(sample(exposition, 'http_requests_total', { route: 'unmatched', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    });

    it('counts fits, adjusts, refused input by route, storage latency, body sizes and in-flight requests', async () => {
      await api.post('/SEN0001/adjust').expect(200);
      await api.post('/SEN0001/predict').send({ value: 'high' }).expect(422);
      const exposition = await scrape();
      expect(sample(exposition, 'sensor_model_changes_total', { change: 'fit' })).toBe(1);
      expect(sample(exposition, 'sensor_model_changes_total', { change: 'adjust' })).toBe(1);
      expect(sample(exposition, 'http_validation_failures_total', { route: '/:sensor_id/predict' })).toBe(1);
      expect(sample(exposition, 'weights_storage_operation_seconds_count', { operation: 'scale_mean', result: 'ok' })).toBe(1);
      expect(sample(exposition, 'http_request_body_bytes_count', { route: '/:sensor_id/fit' })).toBe(1);
      expect(exposition).toMatch(/^http_requests_in_flight 1$/m); // the scrape itself
    });

    it('counts what the domain refuses in storage as result="refused", not as a storage error', async () => {
      const count = (exposition: string, operation: string, result: string) => sample(exposition, 'weights_storage_operation_seconds_count', { operation, result }) ?? 0;
      const before = await scrape();
      await api.post('/SEN0001/rollback').send({ version: 42 }).expect(404); // no such version
      await api.post('/NEVERFIT/update').send({ values: [1] }).expect(422); // a new model needs two readings
      const after = await scrape();
      expect(count(after, 'rollback', 'refused') - count(before, 'rollback', 'refused')).toBe(1);
      expect(count(after, 'merge', 'refused') - count(before, 'merge', 'refused')).toBe(1);
      // CASE.md alerts on any result="error": none of these is one.
      expect(after).not.toMatch(/^weights_storage_operation_seconds_count\{[^}]*result="error"/m);
    });

    it('has no mqtt_broker_connected without MQTT_URL (a 0 would say a broker is down), and the other MQTT counters at 0', async () => {
      const exposition = await scrape();
      expect(exposition).not.toContain('mqtt_broker_connected');
      expect(exposition).toMatch(/^mqtt_retained_alert_corrections_total 0$/m);
    });

    it("exposes Node's own metrics: event-loop lag, heap, GC", async () => {
      const exposition = await scrape();
      for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds', 'process_cpu_seconds_total']) {
        expect(exposition).toContain(`# TYPE ${name}`);
      }
    });
  });

  describe('request ids', () => {
    it('echoes a client X-Request-Id in the header and in a problem body', async () => {
      const response = await api.get('/SEN0002/weights').set('X-Request-Id', 'client-abc.123').expect(404);
      expect(response.headers['x-request-id']).toBe('client-abc.123');
      expect(response.body.request_id).toBe('client-abc.123');
    });

    it('generates one when the client sends none, or one that is not plain', async () => {
      const generated = await api.get('/health').expect(200);
      expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const replaced = await api.get('/health').set('X-Request-Id', 'bad id with spaces').expect(200);
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('logs one JSON line per request with id, method, route, status and duration, and no body', async () => {
      logLines.length = 0;
      await api.post('/SEN0001/predict').set('X-Request-Id', 'log-check-1').send({ value: 123.456 }).expect(200);
      const lines = logLines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'log-check-1');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'info',
        msg: 'request completed',
        route: '/:sensor_id/predict',
        req: { id: 'log-check-1', method: 'POST', url: '/SEN0001/predict' },
        res: { status: 200 },
        responseTime: expect.any(Number),
      });
      expect(JSON.stringify(lines[0])).not.toContain('123.456');
    });

    it('logs a client that hangs up mid-body as aborted, once, and leaves nothing in flight', async () => {
      logLines.length = 0;
      const server = createServer(testApp.app).listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write('POST /SEN0001/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nX-Request-Id: log-abort-1\r\n\r\n{"va');
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      const aborted = () => logLines.filter((line) => (line.req as { id?: string } | undefined)?.id === 'log-abort-1');
      while (aborted().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      server.close();
      expect(aborted()).toEqual([expect.objectContaining({ level: 'warn', msg: 'request aborted', req: { id: 'log-abort-1', method: 'POST', url: '/SEN0001/predict' } })]);
      expect(await scrape()).toMatch(/^http_requests_in_flight 1$/m); // the scrape itself only
    });
  });

  describe('OpenAPI', () => {
    it('serves a valid OpenAPI 3.1 document', async () => {
      const document = (await api.get('/openapi.json').expect(200)).body;
      expect(document.openapi).toBe('3.1.0');
      const validator = spawnSync(process.execPath, [join(__dirname, '../support/validate-openapi.mjs')], { input: JSON.stringify(document), encoding: 'utf8' });
      expect(JSON.parse(validator.stdout)).toEqual({ valid: true });
    });

    it('documents exactly the routes and methods the app serves', async () => {
      const document = (await api.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
      const documented = Object.entries(document.paths)
        .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
        .sort();
      // The docs page's static files are not operations of the API.
      expect(documented).toEqual(servedRoutes(testApp.app).filter((route) => !route.startsWith('GET /docs/assets/')).sort());
    });

    it('describes the case examples and every problem status of a route', async () => {
      const document = (await api.get('/openapi.json').expect(200)).body;
      const fit = document.paths['/{sensor_id}/fit'].post;
      expect(fit.requestBody.content['application/json'].example).toEqual({ values: [10, 5, 6, 9] });
      expect(Object.keys(fit.responses)).toEqual(['200', '400', '401', '405', '409', '413', '415', '417', '422', '500', '503']);
      expect(fit.responses['422'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    });

    it('answers GET / with what the service is, its version and where to go', async () => {
      const index = await api.get('/').expect(200).expect('Content-Type', /^application\/json/);
      expect(index.body).toEqual({
        service: 'sensor-alerts',
        version: '1.0.0',
        description: expect.stringContaining('value >= mean + 2 * std'),
        links: { docs: '/docs', openapi: '/openapi.json', health: '/health', ready: '/ready', metrics: '/metrics' },
      });
      for (const link of Object.values(index.body.links as Record<string, string>)) await api.get(link).expect(200);
      await api.post('/').expect(405).expect('Allow', 'GET, HEAD, OPTIONS');
    });

    it('offers interactive docs at /docs with its assets served locally', async () => {
      const page = await api.get('/docs').expect(200).expect('Content-Type', /^text\/html/);
      expect(page.text).toContain('<script src="docs/assets/docs.js"></script>');
      const script = await api.get('/docs/assets/docs.js').expect(200).expect('Content-Type', /javascript/);
      expect(script.text).toContain("SwaggerUIBundle({ url: 'openapi.json'");
      await api.get('/docs/assets/swagger-ui-bundle.js').expect(200).expect('Content-Type', /javascript/);
      await api.get('/docs/assets/swagger-ui.css').expect(200).expect('Content-Type', /css/);
    });

    it('redirects /docs/, with its trailing slash, to /docs', async () => {
      // Relative, as the page's own URLs are: /docs/ -> /docs, /sensors/docs/ -> /sensors/docs.
      await api.get('/docs/').expect(301).expect('Location', '../docs');
    });
  });
});

/** `METHOD /path` for every route registered on the app, nested routers included. */
function servedRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        return Object.keys(layer.route.methods)
          .filter((method) => method !== '_all')
          .map((method) => `${method.toUpperCase()} ${layer.route!.path}`);
      }
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}

describe('readiness during shutdown', () => {
  const directory = makeTempDir();
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('answers /ready 503 (and /health 200) between SIGTERM and closing, then exits 0', async () => {
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: join(directory, 'ready.db'), SHUTDOWN_DELAY_MS: '1500' });
    const url = await waitForListening(server);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    server.child.kill('SIGTERM');
    while (!server.stdout().includes('"shutting down"')) await new Promise((resolve) => setTimeout(resolve, 10));
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 503, detail: 'Not ready: the server is stopping.' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(await server.exited).toBe(0);
  });
});
