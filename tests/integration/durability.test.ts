import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, waitForListening } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

interface Acknowledged {
  sensorId: string;
  version: number;
  mean: number;
}

describe('durability: every acknowledged write survives SIGKILL', () => {
  const directory = makeTempDir();
  const dbPath = join(directory, 'sensors.db');
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('keeps every acknowledged fit and adjust, and an intact database, after the server is killed mid-stream', async () => {
    const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath });
    const url = await waitForListening(server);
    const acknowledged: Acknowledged[] = [];
    let killed = false;

    // Four clients, each writing its own sensors as fast as it can, until the kill.
    const client = async (clientId: number) => {
      for (let round = 0; !killed; round++) {
        const sensorId = `C${clientId}-${round % 5}`;
        const write = round % 3 === 2 ? fetch(`${url}/${sensorId}/adjust`, { method: 'POST' }) : fetch(`${url}/${sensorId}/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [round, round + 2, round + 4] }) });
        try {
          const response = await write;
          if (response.status === 200) {
            const body = (await response.json()) as { sensor_id: string; version: number; mean: number };
            acknowledged.push({ sensorId: body.sensor_id, version: body.version, mean: body.mean });
          }
        } catch {
          return; // the connection died with the server: not acknowledged
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, index) => client(index));
    while (acknowledged.length < 200) await new Promise((resolve) => setTimeout(resolve, 5));
    server.child.kill('SIGKILL');
    killed = true;
    await Promise.all(clients);
    expect(await server.exited).toBe('SIGKILL');

    const db = new Database(dbPath);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const revision = db.prepare('SELECT mean FROM weights_history WHERE sensor_id = ? AND metric = ? AND version = ?');
      const current = db.prepare('SELECT version FROM weights WHERE sensor_id = ? AND metric = ?');
      for (const { sensorId, version, mean } of acknowledged) {
        expect(revision.get(sensorId, 'value', version)).toEqual({ mean });
        expect((current.get(sensorId, 'value') as { version: number }).version).toBeGreaterThanOrEqual(version);
      }
    } finally {
      db.close();
    }

    // And the server starts again on that file, serving what was acknowledged last.
    const restarted = spawnServer({ PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath });
    const restartedUrl = await waitForListening(restarted);
    const last = acknowledged.at(-1)!;
    const weights = (await (await fetch(`${restartedUrl}/${last.sensorId}/weights`)).json()) as { version: number };
    expect(weights.version).toBeGreaterThanOrEqual(last.version);
    restarted.child.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
  }, 60_000);
});
