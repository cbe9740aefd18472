import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openWeightsStorage, type WeightsStorage } from '../../src/weights-storage';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { makeTempDir } from '../support/test-app';

// A database's identity (its alert events carry it, so that replicas tell another database's
// events from their own): drawn once when the schema is made, kept by every later open, by
// every process on it, and different for another database.

async function identities(open: () => Promise<WeightsStorage>, count: number): Promise<string[]> {
  const storages = await Promise.all(Array.from({ length: count }, open));
  try {
    return storages.map((storage) => storage.databaseId);
  } finally {
    await Promise.all(storages.map((storage) => storage.close()));
  }
}

describe('the SQLite database identity', () => {
  const directory = makeTempDir();
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('is 32 hex digits drawn once per file: the same at every open, read-only too, another for another file', async () => {
    const path = join(directory, 'one.db');
    const [first, again] = await identities(() => openWeightsStorage({ dbPath: path }), 2);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(again).toBe(first);
    expect((await identities(() => openWeightsStorage({ dbPath: path, readOnly: true }), 1))[0]).toBe(first);
    const [other] = await identities(() => openWeightsStorage({ dbPath: join(directory, 'two.db') }), 1);
    expect(other).toMatch(/^[0-9a-f]{32}$/);
    expect(other).not.toBe(first);
  });
});

describeWithPostgres('the PostgreSQL database identity', (adminUrl) => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it('is 32 hex digits drawn once per database, even by replicas creating the schema together; another for another database', async () => {
    for (const label of ['identity1', 'identity2']) databases.push(await createTestDatabase(adminUrl(), label));
    const [first, ...others] = await identities(() => openWeightsStorage({ dbPath: '', databaseUrl: databases[0]!.url }), 4);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(others).toEqual([first, first, first]);
    expect((await identities(() => openWeightsStorage({ dbPath: '', databaseUrl: databases[0]!.url, readOnly: true }), 1))[0]).toBe(first);
    const [other] = await identities(() => openWeightsStorage({ dbPath: '', databaseUrl: databases[1]!.url }), 1);
    expect(other).toMatch(/^[0-9a-f]{32}$/);
    expect(other).not.toBe(first);
  });
});
