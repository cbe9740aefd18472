import request from 'supertest';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from '../../src/application/ports/weights.repository';
import { PinoLogger } from '../../src/infrastructure/logging/pino-logger';
import { createTestApp, type TestApp } from '../support/test-app';

const TOKEN = 'correct-horse-battery-staple';

describe('secrets never reach the logs', () => {
  const logText: string[] = [];
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    const capture = { write: (line: string) => void logText.push(line) };
    testApp = await createTestApp({
      env: { API_TOKEN: TOKEN },
      configure: (container) => {
        container.register(PinoLogger, { useValue: new PinoLogger('debug', 'json', capture) });
        // A failing history read, for the error handler's own log line.
        const repository = container.resolve<WeightsRepository>(WEIGHTS_REPOSITORY);
        container.register(WEIGHTS_REPOSITORY, {
          useValue: Object.assign(Object.create(repository) as WeightsRepository, { history: () => Promise.reject(new Error('disk on fire')) }),
        });
      },
    });
    api = request(testApp.app);
  });
  afterAll(() => testApp.close());

  const linesOf = (id: string) => logText.filter((line) => line.includes(id)).map((line) => JSON.parse(line) as { req?: { url: string }; url?: string });

  it('logs our own query parameters, and any other value as ***', async () => {
    // Parameters the route does not take are refused (400), and logged redacted all the same.
    await api.get(`/SEN0001/weights?metric=value&access_token=${TOKEN}&x=1&${TOKEN}`).set('X-Request-Id', 'redact-1').expect(400);
    const urls = linesOf('redact-1').map((line) => line.url ?? line.req?.url);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toBe('/SEN0001/weights?metric=value&access_token=***&x=***&***');
  });

  it('never logs the Authorization header (not even at debug), and redacts the URL in every line', async () => {
    await api.post('/SEN0001/fit').set('Authorization', `Bearer ${TOKEN}`).set('X-Request-Id', 'redact-2').send({ values: [1, 2] }).expect(200);
    await api.get(`/SEN0001/weights/history?limit=5&before=9&token=${TOKEN}`).set('Authorization', `Bearer ${TOKEN}`).set('X-Request-Id', 'redact-3').expect(400);
    // The request line and the debug line saying why it was refused.
    expect(linesOf('redact-3').map((line) => line.url ?? line.req?.url)).toEqual(['/SEN0001/weights/history?limit=5&before=9&token=***', '/SEN0001/weights/history?limit=5&before=9&token=***']);
    // The error handler's own line for a fault of ours, and the request line.
    await api.get('/SEN0001/weights/history?limit=5').set('Authorization', `Bearer ${TOKEN}`).set('X-Request-Id', 'redact-4').expect(500);
    expect(linesOf('redact-4').map((line) => line.url ?? line.req?.url)).toEqual(['/SEN0001/weights/history?limit=5', '/SEN0001/weights/history?limit=5']);
    expect(logText.join('\n')).not.toContain(TOKEN);
    expect(logText.join('\n')).not.toMatch(/authorization/i);
  });

  it('cuts a long path, parameter name or header in every line to its start and length', async () => {
    const name = 'x'.repeat(10_000);
    await api.get(`/SEN0001/weights?${name}=1`).set('User-Agent', 'u'.repeat(3000)).set('X-Request-Id', 'long-1').expect(400);
    const lines = logText.filter((line) => line.includes('long-1'));
    expect(lines.length).toBe(2);
    for (const line of lines) expect(line.length).toBeLessThan(2000);
    const urls = linesOf('long-1').map((line) => line.url ?? line.req?.url);
    expect(urls).toEqual([`/SEN0001/weights?${'x'.repeat(80)}…(10000 characters)=***`, `/SEN0001/weights?${'x'.repeat(80)}…(10000 characters)=***`]);
    await api.get(`/${'p'.repeat(10_000)}`).set('X-Request-Id', 'long-2').expect(404);
    expect(linesOf('long-2').map((line) => line.url ?? line.req?.url)).toEqual([`/${'p'.repeat(79)}…(10001 characters)`, `/${'p'.repeat(79)}…(10001 characters)`]);
  });
});
