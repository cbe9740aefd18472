import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { LogLevel } from '../../src/config';
import { PinoLogger } from '../../src/infrastructure/logging/pino-logger';
import { freePort } from '../../scripts/free-port';
import { spawnServer, waitForListening } from '../support/server-process';
import { createTestApp, makeTempDir, type TestApp } from '../support/test-app';

const TOKEN = 'logging-test-token-0123';

type LogLine = Record<string, unknown> & { req?: { id?: string } };

/** The app over a fresh database, logging at `level` into the returned array. */
async function appLoggingAt(level: LogLevel): Promise<{ testApp: TestApp; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const capture = { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) };
  const testApp = await createTestApp({
    env: { API_TOKEN: TOKEN },
    configure: (container) => container.register(PinoLogger, { useValue: new PinoLogger(level, 'json', capture) }),
  });
  return { testApp, lines };
}

const linesOf = (lines: LogLine[], requestId: string) =>
  lines.filter((line) => line.req?.id === requestId || line.requestId === requestId);

describe('logs say what happened, at the level it deserves', () => {
  describe('at info', () => {
    let testApp: TestApp;
    let lines: LogLine[];
    beforeAll(async () => ({ testApp, lines } = await appLoggingAt('info')));
    afterAll(() => testApp.close());

    it.each([
      ['401: a write without the token, its body never read', (api: ReturnType<typeof request>) => api.post('/S1/fit').send({ values: [1, 2, 3] }), 401],
      ['415: a body that is not JSON', (api: ReturnType<typeof request>) => api.post('/S1/fit').set('Authorization', `Bearer ${TOKEN}`).type('text/plain').send('1,2,3'), 415],
      ['404: an unknown sensor', (api: ReturnType<typeof request>) => api.get('/NOBODY/weights'), 404],
      ['422: a bad body', (api: ReturnType<typeof request>) => api.post('/S1/predict').send({ value: 'x' }), 422],
    ])('logs %s as one completed request at info, not as aborted', async (_case, send, status) => {
      const id = `refused-${status}`;
      await send(request(testApp.app)).set('X-Request-Id', id).expect(status);
      expect(linesOf(lines, id)).toEqual([expect.objectContaining({ level: 'info', msg: 'request completed', res: { status } })]);
    });

    it('adds no request headers at info', async () => {
      await request(testApp.app).get('/health').set('X-Request-Id', 'plain-info').expect(200);
      expect(linesOf(lines, 'plain-info')[0]?.req).toEqual({ id: 'plain-info', method: 'GET', url: '/health' });
    });
  });

  describe('at debug', () => {
    let testApp: TestApp;
    let lines: LogLine[];
    beforeAll(async () => ({ testApp, lines } = await appLoggingAt('debug')));
    afterAll(() => testApp.close());

    it('says why a request was refused, and what the client sent besides the body', async () => {
      await request(testApp.app).post('/S1/predict').set('X-Request-Id', 'debug-422').set('User-Agent', 'probe/1').send({ value: 'x' }).expect(422);
      const [refused, completed] = linesOf(lines, 'debug-422');
      expect(refused).toMatchObject({
        level: 'debug',
        msg: 'request refused',
        status: 422,
        type: 'urn:sensor-alerts:problem:validation-error',
        detail: '#/value: Invalid input: expected number, received string',
      });
      expect(completed).toMatchObject({
        level: 'info',
        msg: 'request completed',
        req: { id: 'debug-422', headers: { 'content-type': 'application/json', 'content-length': '13', 'user-agent': 'probe/1' } },
      });
    });

    it('never logs the Authorization header', async () => {
      await request(testApp.app).post('/S1/fit').set('X-Request-Id', 'debug-auth').set('Authorization', `Bearer ${TOKEN}`).send({ values: [1, 2] }).expect(200);
      expect(JSON.stringify(linesOf(lines, 'debug-auth'))).not.toContain(TOKEN);
    });
  });

  describe('the server process', () => {
    const directory = makeTempDir();
    afterAll(() => rmSync(directory, { recursive: true, force: true }));

    it('says it started and stopped even with LOG_LEVEL=warn, and nothing else on a quiet run', async () => {
      const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: join(directory, 'warn.db'), LOG_LEVEL: 'warn' });
      const url = await waitForListening(server);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const messages = server.stdout().trimEnd().split('\n').map((line) => JSON.parse(line).msg);
      expect(messages).toEqual(['sensor-alerts listening', 'shutting down', 'stopped']);
    });

    it('logs nothing at all with LOG_LEVEL=silent', async () => {
      const port = await freePort();
      const server = spawnServer({ PORT: String(port), HOST: '127.0.0.1', DB_PATH: join(directory, 'silent.db'), LOG_LEVEL: 'silent' });
      // No start line to wait for: ask until it answers.
      for (let answered = false; !answered; ) {
        answered = await fetch(`http://127.0.0.1:${port}/health`).then(
          (response) => response.ok,
          () => false,
        );
        if (!answered) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.stdout()).toBe('');
    });

    it('logs the configuration without secrets at debug', async () => {
      const server = spawnServer({
        PORT: '0', HOST: '127.0.0.1', DB_PATH: join(directory, 'debug.db'), LOG_LEVEL: 'debug', API_TOKEN: TOKEN,
        ALERT_WEBHOOK_URL: 'https://hook:pw-secret@hooks.example.com:8443/services/T0/path-secret?token=query-secret',
      });
      await waitForListening(server);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const configuration = server.stdout().split('\n').find((line) => line.includes('"configuration"'));
      expect(JSON.parse(configuration!)).toMatchObject({ level: 'debug', host: '127.0.0.1', logLevel: 'debug', apiToken: 'set', storage: join(directory, 'debug.db') });
      expect(JSON.parse(configuration!)).toMatchObject({ alertWebhookUrl: 'https://hooks.example.com:8443/...' });
      expect(server.stdout()).not.toContain(TOKEN);
      expect(server.stdout()).not.toMatch(/pw-secret|path-secret|query-secret/);
    });

    it("logs /ready's 503 while stopping once per request, at info, without a stack", async () => {
      const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: join(directory, 'ready.db'), SHUTDOWN_DELAY_MS: '1000' });
      const url = await waitForListening(server);
      server.child.kill('SIGTERM');
      while (!server.stdout().includes('"shutting down"')) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const id of ['ready-1', 'ready-2', 'ready-3']) expect((await fetch(`${url}/ready`, { headers: { 'X-Request-Id': id } })).status).toBe(503);
      expect(await server.exited).toBe(0);
      const lines = server
        .stdout()
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
      for (const id of ['ready-1', 'ready-2', 'ready-3']) {
        expect(linesOf(lines, id)).toEqual([expect.objectContaining({ level: 'info', msg: 'request completed', res: { status: 503 } })]);
      }
      expect(lines.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
      expect(server.stdout()).not.toContain('stack');
    });
  });
});
