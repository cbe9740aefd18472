import { freePort } from '../../scripts/free-port';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { startTcpRelay } from '../support/tcp-relay';
import { exactMean, stdRelativeError } from '../support/exact-statistics';
import { relativeError } from '../support/reference-statistics';

/** 1.1 applied n times, in the same order of float operations the server uses. */
function adjustedMean(mean: number, times: number): number {
  let result = mean;
  for (let i = 0; i < times; i++) result *= 1.1;
  return result;
}

describeWithPostgres('two API replicas over one PostgreSQL database', (adminUrl) => {
  let database: TestDatabase;
  const replicas: ServerProcess[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl(), 'replicas');
    // Started together: the advisory lock lets exactly one of them create the schema.
    for (let i = 0; i < 2; i++) replicas.push(spawnServer({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url }));
    urls.push(...(await Promise.all(replicas.map((replica) => waitForListening(replica, 30_000)))));
  }, 60_000);
  afterAll(async () => {
    for (const replica of replicas) replica.child.kill('SIGTERM');
    const codes = await Promise.all(replicas.map((replica) => replica.exited));
    await database?.drop();
    expect(codes).toEqual([0, 0]);
    expect(replicas.map((replica) => replica.stderr())).toEqual(['', '']);
  });

  it('serves through replica B the model fitted through replica A', async () => {
    const fitted = await fetch(`${urls[0]}/REPL01/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
    expect(fitted.status).toBe(200);
    const body = await fitted.json();
    const read = await fetch(`${urls[1]}/REPL01/weights`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(body);
    expect(body).toMatchObject({ sensor_id: 'REPL01', metric: 'value', mean: 7.5, n: 4, version: 1 });
  });

  it('loses no update among 200 adjusts spread over both replicas, 20 at a time', async () => {
    const fitted = await fetch(`${urls[1]}/REPL02/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
    expect(fitted.status).toBe(200);
    const mean = ((await fitted.json()) as { mean: number }).mean;

    const statuses: number[] = [];
    const versions: number[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${urls[i % 2]}/REPL02/adjust`, { method: 'POST' })));
      for (const response of responses) {
        statuses.push(response.status);
        versions.push(((await response.json()) as { version: number }).version);
      }
    }
    expect(statuses).toEqual(Array(200).fill(200));
    expect(new Set(versions).size).toBe(200);

    for (const url of urls) {
      const stored = (await (await fetch(`${url}/REPL02/weights`)).json()) as { mean: number; version: number };
      expect(stored.version).toBe(201);
      expect(relativeError(stored.mean, adjustedMean(mean, 200))).toBeLessThan(1e-12);
      expect(stored.mean).toBe(adjustedMean(mean, 200));
    }

    const history = (await (await fetch(`${urls[0]}/REPL02/weights/history?limit=1000`)).json()) as Array<{ version: number; change: string }>;
    expect(history).toHaveLength(201);
    expect(history.map((revision) => revision.version)).toEqual(Array.from({ length: 201 }, (_, i) => 201 - i));
    expect(history.filter((revision) => revision.change === 'adjust')).toHaveLength(200);
    const latest = (await (await fetch(`${urls[1]}/REPL02/weights/history?limit=5`)).json()) as Array<{ version: number }>;
    expect(latest.map((revision) => revision.version)).toEqual([201, 200, 199, 198, 197]);
  });

  it('loses no update among 200 updates with distinct readings spread over both replicas, 20 at a time', async () => {
    const post = (url: string, route: string, body: unknown) =>
      fetch(`${url}/REPL03/${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(urls[0]!, 'fit', { values: [0.05, 0.07] })).status).toBe(200);
    const readings = Array.from({ length: 200 }, (_, i) => 0.045 + i / 4096);
    const statuses: number[] = [];
    const versions: number[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(urls[i % 2]!, 'update', { values: [readings[wave * 20 + i]] })));
      for (const response of responses) {
        statuses.push(response.status);
        versions.push(((await response.json()) as { version: number }).version);
      }
    }
    expect(statuses).toEqual(Array(200).fill(200));
    expect(new Set(versions).size).toBe(200);
    const all = [0.05, 0.07, ...readings];
    for (const url of urls) {
      const stored = (await (await fetch(`${url}/REPL03/weights`)).json()) as { mean: number; std: number; n: number; version: number };
      expect(stored).toMatchObject({ version: 201, n: 202 });
      expect(stored.mean).toBe(exactMean(all));
      expect(stdRelativeError(stored.std, all)).toBeLessThanOrEqual(1e-13);
    }
  });

  it('with DATABASE_STARTUP_WAIT_MS, a replica started before its database waits for it', async () => {
    // The database's address answers nothing at first; a relay to the real server opens there later.
    const port = await freePort();
    const waiting = spawnServer({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: Object.assign(new URL(database.url), { port: String(port) }).toString(), DATABASE_STARTUP_WAIT_MS: '20000' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(waiting.child.exitCode).toBeNull();
    const relay = await startTcpRelay(database.url, port);
    try {
      const url = await waitForListening(waiting, 30_000);
      expect((await fetch(`${url}/REPL01/weights`)).status).toBe(200);
    } finally {
      waiting.child.kill('SIGTERM');
      expect(await waiting.exited).toBe(0);
      relay.close();
    }
  }, 60_000);
});
