import { copyFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

// SQLite keeps writing to a file that was deleted (or replaced) under it, through its open
// descriptor: acknowledged writes that a restart would not find. The service must notice.
describe('the database file deleted or replaced while the service runs', () => {
  let dir: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(async () => {
    for (const server of servers) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(name: string): Promise<{ url: string; dbPath: string; server: ServerProcess }> {
    const dbPath = join(dir, name);
    const server = spawnServer({ DB_PATH: dbPath, PORT: '0', HOST: '127.0.0.1' });
    servers.push(server);
    const url = await waitForListening(server);
    return { url, dbPath, server };
  }

  const post = (url: string, body?: unknown) =>
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  async function expectRefusesWritesAndHealth(url: string, server: ServerProcess, dbPath: string): Promise<void> {
    for (const response of [await post(`${url}/SEN0001/fit`, { values: [1, 2] }), await post(`${url}/SEN0001/adjust`), await post(`${url}/SEN0002/fit`, { values: [3, 4] })]) {
      expect(response.status).toBe(503);
      // Only a restart helps: no Retry-After inviting clients to retry in a second.
      expect(response.headers.get('retry-after')).toBeNull();
      expect(await response.json()).toMatchObject({
        type: 'urn:sensor-alerts:problem:storage-unavailable',
        detail: 'The weights database cannot take this request now: its file was deleted or replaced while the service ran; restart the service.',
      });
    }
    const why = 'its file was deleted or replaced while the service ran; restart the service';
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ detail: `The weights database cannot serve: ${why}.` });
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ detail: `Not ready: the weights database cannot serve: ${why}.` });
    const lines = server
      .stdout()
      .split('\n')
      .filter((line) => line.includes('weights database file'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      msg: 'weights database file deleted or replaced: writes, /health and /ready answer 503 until a restart',
      path: dbPath,
    });
    // The probes' 503s are storage trouble, logged at warn as the writes' are, not as answers given on purpose.
    const probeLines = () =>
      server
        .stdout()
        .split('\n')
        .filter((line) => /"url":"\/(health|ready)"/.test(line))
        .map((line) => JSON.parse(line) as { level: string; msg: string; res: { status: number } });
    // Logged once each answer has gone out: wait for both lines.
    for (const deadline = Date.now() + 5000; probeLines().length < 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(probeLines()).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'request failed', res: { status: 503 } }),
      expect.objectContaining({ level: 'warn', msg: 'request failed', res: { status: 503 } }),
    ]);
  }

  it('deleted: writes, /health and /ready answer 503, with one error log line', async () => {
    const { url, dbPath, server } = await start('deleted.db');
    expect((await post(`${url}/SEN0001/fit`, { values: [10, 5, 6, 9] })).status).toBe(200);
    unlinkSync(dbPath);
    await expectRefusesWritesAndHealth(url, server, dbPath);
  });

  it('replaced by another file: the same', async () => {
    const { url, dbPath, server } = await start('replaced.db');
    expect((await post(`${url}/SEN0001/fit`, { values: [10, 5, 6, 9] })).status).toBe(200);
    copyFileSync(dbPath, `${dbPath}.copy`);
    renameSync(`${dbPath}.copy`, dbPath);
    await expectRefusesWritesAndHealth(url, server, dbPath);
  });
});
