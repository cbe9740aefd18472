import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

// Another process (the trainer beside the API, or anyone's BEGIN IMMEDIATE) holds the
// write lock: the server's writes wait for it, and nothing else does, in wall-clock time.
const BUSY_TIMEOUT_MS = 3000;
// A synchronous busy wait would hold every request for the lock's seconds (1.5-3 s here), or,
// waiting in shorter steps, slow most of them. So: the median read far below those steps, and
// the slowest below a second. Not the slowest below 150 ms: a loaded machine's jitter broke that.
const QUICK_MEDIAN_MS = 150;
const SLOWEST_MS = 1000;

/** A separate process that takes the write lock, says "locked", and releases it after `holdMs`. */
async function holdWriteLock(dbPath: string, holdMs: number): Promise<{ released: Promise<unknown> }> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, Number(process.argv[2]));`;
  const child = spawn(process.execPath, ['-e', script, dbPath, String(holdMs)], { cwd: join(__dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  return { released: once(child, 'exit') };
}

async function timed(url: string): Promise<{ status: number; ms: number }> {
  const startedAt = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - startedAt };
}

const fit = (url: string, values: number[]) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values }) }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    at: performance.now(),
  }));

describe('a write waiting for another process lock', () => {
  let dir: string;
  let dbPath: string;
  let server: ServerProcess;
  let url: string;

  beforeAll(async () => {
    dir = makeTempDir();
    dbPath = join(dir, 'sensors.db');
    server = spawnServer({ DB_PATH: dbPath, PORT: '0', HOST: '127.0.0.1', DB_BUSY_TIMEOUT_MS: String(BUSY_TIMEOUT_MS) });
    url = await waitForListening(server);
    expect((await fit(`${url}/SEN0001/fit`, [10, 5, 6, 9])).status).toBe(200);
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Reads and /health, one after another, for `forMs`: each must answer 200, and quickly. */
  async function expectReadsQuick(forMs: number): Promise<void> {
    const until = performance.now() + forMs;
    const times: number[] = [];
    while (performance.now() < until) {
      for (const path of ['/SEN0001/weights', '/health', '/ready']) {
        const { status, ms } = await timed(`${url}${path}`);
        expect({ path, status }).toEqual({ path, status: 200 });
        times.push(ms);
      }
    }
    times.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(6);
    expect(times[Math.floor(times.length / 2)]).toBeLessThan(QUICK_MEDIAN_MS);
    expect(times.at(-1)).toBeLessThan(SLOWEST_MS);
  }

  it('delays no other request, and the writes go through once the lock is released', async () => {
    const lock = await holdWriteLock(dbPath, 2000);
    const lockedAt = performance.now();
    const writes = Promise.all([fit(`${url}/SEN0001/fit`, [1, 2]), fit(`${url}/SEN0001/fit`, [3, 4]), fit(`${url}/SEN0002/fit`, [5, 6])]);
    let settled = false;
    void writes.then(() => (settled = true));

    await expectReadsQuick(1500);
    expect(settled).toBe(false); // the writes were waiting all along

    await lock.released;
    const answers = await writes;
    expect(answers.map(({ status }) => status)).toEqual([200, 200, 200]);
    expect(answers.map(({ body }) => body.version).sort()).toEqual([1, 2, 3]);
    for (const { at } of answers) expect(at - lockedAt).toBeGreaterThan(1900);
    const history = (await (await fetch(`${url}/SEN0001/weights/history`)).json()) as { version: number }[];
    expect(history.map((revision) => revision.version)).toEqual([3, 2, 1]);
  }, 15_000);

  it('answers a write 503 once DB_BUSY_TIMEOUT_MS is over, still without delaying others', async () => {
    const lock = await holdWriteLock(dbPath, BUSY_TIMEOUT_MS + 1500);
    const lockedAt = performance.now();
    const write = fit(`${url}/SEN0003/fit`, [1, 2]);
    await expectReadsQuick(1000);
    const { status, body, at } = await write;
    expect(status).toBe(503);
    expect(body).toMatchObject({ type: 'urn:sensor-alerts:problem:storage-unavailable', detail: 'The weights database cannot take this request now: database is locked (SQLITE_BUSY).' });
    expect(at - lockedAt).toBeGreaterThan(BUSY_TIMEOUT_MS - 100);
    expect(at - lockedAt).toBeLessThan(BUSY_TIMEOUT_MS + 1400);
    await lock.released;
    expect((await fit(`${url}/SEN0003/fit`, [1, 2])).status).toBe(200);
  }, 15_000);
});
