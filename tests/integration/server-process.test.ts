import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { spawnServer, waitForListening } from '../support/server-process';
import { createTestApp } from '../support/test-app';
import { unprivilegedUser } from '../support/unprivileged-user';

describe('the server process', () => {
  let directory: string;
  let dbPath: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'sensor-alerts-process-'));
    dbPath = join(directory, 'nested', 'folder', 'sensors.db');
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('on SIGTERM stops accepting, finishes the request in flight, closes the database and exits 0', async () => {
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath });
    const url = new URL(await waitForListening(server));
    expect(existsSync(dbPath)).toBe(true);

    // A fit whose body is only half sent when the signal arrives.
    const body = JSON.stringify({ values: [10, 5, 6, 9] });
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write(
      `POST /INFLIGHT/fit HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    server.child.kill('SIGTERM');
    await waitForLog(server.stdout, '"shutting down"');
    await expect(fetch(`${url.origin}/health`)).rejects.toThrow();

    socket.end(body.slice(10));
    expect(await server.exited).toBe(0);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain('"sensor_id":"INFLIGHT"');
    expect(server.stdout()).toContain('"msg":"stopped"');
    expect(server.stderr()).toBe('');

    // Closed cleanly: the WAL was checkpointed away, and the acknowledged fit is on disk.
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    const reader = await createTestApp({ dbPath });
    try {
      expect((await request(reader.app).get('/INFLIGHT/weights').expect(200)).body).toMatchObject({ mean: 7.5, n: 4 });
    } finally {
      await reader.close();
    }
  });

  it.each([
    ['a body trickling in', (host: string) => `POST /SLOW/fit HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`, '"'],
    ['headers trickling in', (host: string) => `GET /health HTTP/1.1\r\nHost: ${host}\r\n`, 'X'],
  ])('cuts off %s after REQUEST_TIMEOUT_MS with 408, while serving others', async (_label, start, drip) => {
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath, REQUEST_TIMEOUT_MS: '1000' });
    const url = new URL(await waitForListening(server));
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(start(url.host));
    const dripping = setInterval(() => socket.writable && socket.write(drip), 150);
    const startedAt = Date.now();

    expect((await fetch(`${url.origin}/health`)).status).toBe(200); // not starved by the slow client
    await closed;
    clearInterval(dripping);
    expect(Date.now() - startedAt).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('exits 0 on SIGINT too', async () => {
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath });
    await waitForListening(server);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  // An orchestrator may stop a container the moment it starts: every signal, however early,
  // must end in a clean exit 0, never in death by the signal.
  it('exits 0 on a SIGTERM sent the instant it says "listening", every time', async () => {
    for (let start = 0; start < 12; start++) {
      const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath });
      server.child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('"sensor-alerts listening"')) server.child.kill('SIGTERM');
      });
      expect(await server.exited).toBe(0);
      expect(server.stdout()).toContain('"msg":"stopped"');
    }
  }, 60_000);

  it('exits 0 at once on a SIGTERM that arrives while the start waits for its database', async () => {
    const server = spawnServer({ PORT: '0', DATABASE_URL: 'postgres://app:secret@127.0.0.1:1/weights', DATABASE_STARTUP_WAIT_MS: '30000' });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // well into the 30 s of retries
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(3000);
    expect(server.stderr()).toBe('sensor-alerts: SIGTERM before the start completed; exiting\n');
  });

  it.each([
    ['rejection', 'unhandled promise rejection'],
    ['exception', 'uncaught exception'],
  ])('logs an unhandled %s as one fatal JSON line, then exits 1', async (fault, message) => {
    const server = spawnServer({
      PORT: '0',
      HOST: '127.0.0.1',
      DB_PATH: dbPath,
      NODE_OPTIONS: `--require ${join(__dirname, '../support/fault-after-start.js')}`,
      TEST_FAULT: fault,
      TEST_FAULT_DELAY_MS: '300',
    });
    expect(await server.exited).toBe(1);
    const fatal = server
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"fatal"'))
      .map((line) => JSON.parse(line));
    expect(fatal).toEqual([expect.objectContaining({ level: 'fatal', msg: message, error: expect.objectContaining({ name: 'Error', message: 'boom from the test' }) })]);
    expect(server.stderr()).toBe('');
  });

  it('creates data/sensors.db under the working directory by default', async () => {
    const cwd = join(directory, 'default-path');
    rmSync(cwd, { recursive: true, force: true });
    mkdirSync(cwd);
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1' }, cwd);
    await waitForListening(server);
    expect(existsSync(join(cwd, 'data', 'sensors.db'))).toBe(true);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it.each([
    [{ PORT: 'abc' }, 'sensor-alerts: invalid configuration: PORT="abc": expected an integer from 0 to 65535\n'],
    [{ PORT: '70000' }, 'sensor-alerts: invalid configuration: PORT="70000": expected an integer from 0 to 65535\n'],
    [
      { LOG_LEVEL: 'loud', BODY_LIMIT_FIT: 'huge' },
      'sensor-alerts: invalid configuration: BODY_LIMIT_FIT="huge": expected a size from 1 byte to 1gb, such as 16mb, 512kb or 1048576; ' +
        'LOG_LEVEL="loud": expected one of debug, info, warn, error, silent\n',
    ],
  ])('refuses to start with a bad configuration %j, in one line', async (env, message) => {
    const server = spawnServer({ ...env, DB_PATH: dbPath });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe(message);
  });

  it('refuses to start on a DB_PATH folder it may not write, naming the cause and the folder', async () => {
    const folder = join(directory, 'read-only');
    mkdirSync(folder, { recursive: true });
    chmodSync(directory, 0o755);
    chmodSync(folder, 0o555);
    const { uid, user } = unprivilegedUser();
    const database = join(folder, 'sensors.db');
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: database }, undefined, user);
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe(`sensor-alerts: cannot open the weights database at ${database}: permission denied: this process (uid ${uid}) cannot write ${folder}\n`);
  });

  it.each([
    ['999.1.1.1', 'sensor-alerts: invalid configuration: HOST="999.1.1.1": expected an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) or a host name\n'],
    // ENOTFOUND, or EAI_AGAIN where no resolver answers.
    ['no-such-host.invalid', /^sensor-alerts: cannot listen on HOST="no-such-host\.invalid" PORT=0: getaddrinfo [A-Z_]+ no-such-host\.invalid\n$/],
  ])('refuses to start on HOST=%s, naming HOST', async (host, message) => {
    const server = spawnServer({ PORT: '0', HOST: host, DB_PATH: dbPath });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(message);
  });

  it('refuses to start on a port in use, naming PORT, and leaves no new database file or folder behind', async () => {
    const { taken, port } = await occupyPort();
    mkdirSync(join(directory, 'port-in-use'));
    const database = join(directory, 'port-in-use', 'new', 'folders', 'sensors.db');
    try {
      const server = spawnServer({ PORT: String(port), HOST: '127.0.0.1', DB_PATH: database });
      expect(await server.exited).toBe(1);
      expect(server.stderr()).toMatch(new RegExp(`^sensor-alerts: cannot listen on HOST="127\\.0\\.0\\.1" PORT=${port}: .*EADDRINUSE.*\n$`));
      // Neither the file nor the folders made for it; the folder that was there stays.
      expect(readdirSync(join(directory, 'port-in-use'))).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it('keeps an existing database when a start fails on a port in use', async () => {
    const { taken, port } = await occupyPort();
    const database = join(directory, 'existing', 'sensors.db');
    try {
      const first = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: database });
      const url = await waitForListening(first);
      await request(url).post('/kept/fit').send({ values: [1, 2, 3] }).expect(200);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const second = spawnServer({ PORT: String(port), HOST: '127.0.0.1', DB_PATH: database });
      expect(await second.exited).toBe(1);
      const third = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: database });
      const thirdUrl = await waitForListening(third);
      await request(thirdUrl).get('/kept/weights').expect(200);
      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
    } finally {
      taken.close();
    }
  });

  it('refuses to start on a file that is not a SQLite database, in one line', async () => {
    const notADatabase = join(directory, 'not-a-database.db');
    writeFileSync(notADatabase, 'these are not the bytes of a SQLite database, just some text '.repeat(100));
    const server = spawnServer({ PORT: '0', DB_PATH: notADatabase });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe(`sensor-alerts: cannot open the weights database at ${notADatabase}: file is not a database\n`);
  });

  it('refuses to start when DATABASE_URL names no reachable server, in one line without the password', async () => {
    const server = spawnServer({ PORT: '0', DATABASE_URL: 'postgres://app:hunter2@127.0.0.1:1/weights' });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe('sensor-alerts: cannot open the weights database at postgres://app:***@127.0.0.1:1/weights: connect ECONNREFUSED 127.0.0.1:1\n');
  });
});

/** A loopback port held by another listener until `taken.close()`. */
async function occupyPort(): Promise<{ taken: Server; port: number }> {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  return { taken, port: (taken.address() as AddressInfo).port };
}

async function waitForLog(output: () => string, text: string): Promise<void> {
  while (!output().includes(text)) await new Promise((resolve) => setTimeout(resolve, 10));
}
