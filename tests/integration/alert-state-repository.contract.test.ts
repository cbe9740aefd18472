import Database from 'better-sqlite3';
import { rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import type { AlertStateRepository, ScoredReading } from '../../src/application/ports/alert-state.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import { AlertDebounce, type AlertStatus } from '../../src/domain/alert-debounce';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { openPostgresPool } from '../../src/infrastructure/postgres/open-postgres-pool';
import { PostgresAlertStateRepository } from '../../src/infrastructure/postgres/postgres-alert-state.repository';
import { openSqliteDatabase } from '../../src/infrastructure/sqlite/open-sqlite-database';
import { SqliteAlertStateRepository } from '../../src/infrastructure/sqlite/sqlite-alert-state.repository';
import { InMemoryAlertStateRepository } from '../support/in-memory-alert-state.repository';
import { createTestDatabase, testPostgres } from '../support/postgres-server';
import { makeTempDir } from '../support/test-app';
import { openWeightsStorage } from '../../src/weights-storage';

/** One adapter as the contract sees it. */
interface OpenedStore {
  readonly repository: AlertStateRepository;
  /** Another repository over the same storage, on its own connection(s): another process or replica. */
  another(): Promise<AlertStateRepository>;
  /**
   * Runs `sql` in a transaction on a connection of its own and keeps it open (its locks held)
   * until `commit`; SQL stores only.
   */
  holding?(sql: string): Promise<{ commit(): Promise<void> }>;
  /** A repository over the same kind of storage that cannot take writes (down, or read-only). */
  unavailable(): Promise<{ repository: AlertStateRepository; readsFailToo: boolean; close(): Promise<void> }>;
  close(): Promise<void>;
}

interface Adapter {
  readonly name: string;
  open(): Promise<OpenedStore>;
}

// The stand-in the use-case unit tests rely on: held to the same contract, so it cannot drift.
const inMemory: Adapter = {
  name: "in-memory (the unit tests' stand-in)",
  open: async () => {
    const repository = new InMemoryAlertStateRepository();
    return {
      repository,
      // One map is the only storage two instances could share.
      another: async () => repository,
      unavailable: async () => {
        const down = new InMemoryAlertStateRepository();
        down.reachable = false;
        return { repository: down, readsFailToo: true, close: async () => undefined };
      },
      close: async () => undefined,
    };
  },
};

const sqlite: Adapter = {
  name: 'SQLite',
  open: async () => {
    const directory = makeTempDir();
    const path = join(directory, 'sensors.db');
    const handles = [openSqliteDatabase(path)];
    return {
      repository: new SqliteAlertStateRepository(handles[0]!),
      another: async () => {
        const handle = openSqliteDatabase(path);
        handles.push(handle);
        return new SqliteAlertStateRepository(handle);
      },
      holding: async (sql) => {
        const handle = new Database(path);
        handles.push(handle);
        handle.exec('BEGIN IMMEDIATE');
        handle.exec(sql);
        return { commit: async () => void handle.exec('COMMIT') };
      },
      // A read-only handle: SQLITE_READONLY is the file's way of refusing every write.
      unavailable: async () => {
        const readOnly = new Database(path, { readonly: true });
        return { repository: new SqliteAlertStateRepository(readOnly), readsFailToo: false, close: async () => void readOnly.close() };
      },
      close: async () => {
        for (const handle of handles) handle.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  },
};

function postgres(adminUrl: string): Adapter {
  return {
    name: 'PostgreSQL',
    open: async () => {
      const database = await createTestDatabase(adminUrl, 'alert_states');
      const pools = [await openPostgresPool(database.url)];
      const clients: Client[] = [];
      return {
        repository: new PostgresAlertStateRepository(pools[0]!),
        another: async () => {
          const pool = await openPostgresPool(database.url);
          pools.push(pool);
          return new PostgresAlertStateRepository(pool);
        },
        holding: async (sql) => {
          const client = new Client({ connectionString: database.url });
          clients.push(client);
          await client.connect();
          await client.query('BEGIN');
          await client.query(sql);
          return { commit: async () => void (await client.query('COMMIT')) };
        },
        // Port 1 on loopback: nothing listens there, so every connection is refused.
        unavailable: async () => {
          const down = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
          return { repository: new PostgresAlertStateRepository(down), readsFailToo: true, close: () => down.end() };
        },
        close: async () => {
          for (const client of clients) await client.end();
          for (const pool of pools) await pool.end();
          await database.drop();
        },
      };
    },
  };
}

const server = testPostgres();
const adapters: Adapter[] = 'url' in server ? [inMemory, sqlite, postgres(server.url)] : [inMemory, sqlite];

const VALUE = MetricName.DEFAULT;
const VEL_X = MetricName.of('params.velRMS.x');
const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0, second * 1000 + 7));

/** A reading of `sensorId`'s model scored in alert (`true`) or not, against `threshold`. */
function scored(sensorId: string, inAlert: boolean, second: number, value = inAlert ? 2 : 0.5, threshold = 1, metric = VALUE): ScoredReading {
  return { sensor: Sensor.withId(sensorId), metric, value, at: at(second), inAlert, threshold };
}

const count = (transitions: readonly (AlertStatus | undefined)[], state: AlertStatus) => transitions.filter((transition) => transition === state).length;

describe.each(adapters)('the $name alert state repository', (adapter) => contract(adapter));
if ('unavailable' in server) {
  console.warn(`SKIPPED the PostgreSQL half of the alert state repository contract: ${server.unavailable}`);
  describe.skip('the PostgreSQL alert state repository', () => contract(postgres('')));
}

function contract(adapter: Adapter): void {
  let store: OpenedStore;
  let repository: AlertStateRepository;

  beforeAll(async () => {
    store = await adapter.open();
    repository = store.repository;
  });
  afterAll(() => store.close());

  it('starts with no active alert, and an empty batch answers [] and stores nothing', async () => {
    expect(await repository.listActive()).toEqual([]);
    expect(await repository.advance([], new AlertDebounce())).toEqual([]);
    expect(await repository.listActive()).toEqual([]);
  });

  it("with (1, 1), the case's rule: each reading decides, and answers its transition in order", async () => {
    const transitions = await repository.advance(
      [scored('RULE', true, 1), scored('RULE', true, 2), scored('RULE', false, 3), scored('RULE', false, 4), scored('RULE', true, 5)],
      new AlertDebounce(),
    );
    expect(transitions).toEqual(['raised', undefined, 'cleared', undefined, 'raised']);
    expect(await repository.listActive()).toEqual([{ sensorId: 'RULE', metric: 'value', since: at(5), lastValue: 2, threshold: 1 }]);
    await repository.advance([scored('RULE', false, 6)], new AlertDebounce());
  });

  it('finds the stored states of the models asked for, with the reading written with each; none for a model never stepped', async () => {
    await repository.advance([scored('FIND', true, 1, 3), scored('FIND', true, 2, 4, 1.5, VEL_X), scored('FIND', false, 3, 0.75, 1.5, VEL_X)], new AlertDebounce());
    const key = (sensorId: string, metric = VALUE) => ({ sensor: Sensor.withId(sensorId), metric });
    const found = await repository.findMany([key('FIND'), key('FIND', VEL_X), key('FIND-NONE'), key('constructor')]);
    expect([...found].sort((a, b) => (a.metric < b.metric ? -1 : 1))).toEqual([
      { sensorId: 'FIND', metric: 'params.velRMS.x', status: 'cleared', lastValue: 0.75, threshold: 1.5, lastAt: at(3) },
      { sensorId: 'FIND', metric: 'value', status: 'raised', lastValue: 3, threshold: 1, lastAt: at(1) },
    ]);
    expect(await repository.findMany([])).toEqual([]);
    await repository.advance([scored('FIND', false, 4)], new AlertDebounce());
  });

  it("finds the raised states of every model of the sensors asked for, none of another sensor's, none cleared", async () => {
    await repository.advance(
      [scored('RAISED', true, 1, 3), scored('RAISED', true, 2, 4, 1.5, VEL_X), scored('RAISED-TOO', true, 3, 5), scored('RAISED-NOT', true, 4), scored('RAISED-NOT', false, 5)],
      new AlertDebounce(),
    );
    const found = await repository.findRaised([Sensor.withId('RAISED'), Sensor.withId('RAISED-NOT'), Sensor.withId('constructor')]);
    expect([...found].sort((a, b) => (a.metric < b.metric ? -1 : 1))).toEqual([
      { sensorId: 'RAISED', metric: 'params.velRMS.x', status: 'raised', lastValue: 4, threshold: 1.5, lastAt: at(2) },
      { sensorId: 'RAISED', metric: 'value', status: 'raised', lastValue: 3, threshold: 1, lastAt: at(1) },
    ]);
    expect(await repository.findRaised([])).toEqual([]);
    await repository.advance([scored('RAISED', false, 6), scored('RAISED', false, 7, 0.5, 1.5, VEL_X), scored('RAISED-TOO', false, 8)], new AlertDebounce());
  });

  it('debounces within a batch and across batches: a model named several times steps several times', async () => {
    const debounce = new AlertDebounce(3, 2);
    expect(await repository.advance([scored('DEB', true, 1), scored('DEB', true, 2)], debounce)).toEqual([undefined, undefined]);
    expect(await repository.listActive()).toEqual([]);
    expect(await repository.advance([scored('DEB', true, 3, 2.5)], debounce)).toEqual(['raised']);
    // Below, above (which resets the count), below, below: cleared by the fourth.
    expect(await repository.advance([scored('DEB', false, 4), scored('DEB', true, 5, 3), scored('DEB', false, 6, 0.25)], debounce)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(await repository.listActive()).toEqual([{ sensorId: 'DEB', metric: 'value', since: at(3), lastValue: 0.25, threshold: 1 }]);
    expect(await repository.advance([scored('DEB', false, 7)], debounce)).toEqual(['cleared']);
    expect(await repository.listActive()).toEqual([]);
    // A reset count stays reset: one reading above after a cleared one below raises nothing at 3.
    expect(await repository.advance([scored('DEB', true, 8), scored('DEB', false, 9), scored('DEB', true, 10), scored('DEB', true, 11)], debounce)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(await repository.advance([scored('DEB', true, 12)], debounce)).toEqual(['raised']);
    await repository.advance([scored('DEB', false, 13), scored('DEB', false, 14)], debounce);
  });

  it('steps interleaved models of one batch each on its own, metric by metric', async () => {
    const debounce = new AlertDebounce(2, 1);
    const transitions = await repository.advance(
      [
        scored('MIX', true, 1),
        scored('MIX', true, 1, 2, 1, VEL_X),
        scored('MIX2', true, 1),
        scored('MIX', true, 2),
        scored('MIX', false, 2, 0.5, 1, VEL_X),
        scored('MIX2', true, 2),
        scored('MIX2', false, 3),
      ],
      debounce,
    );
    expect(transitions).toEqual([undefined, undefined, undefined, 'raised', undefined, 'raised', 'cleared']);
    expect(await repository.listActive()).toEqual([{ sensorId: 'MIX', metric: 'value', since: at(2), lastValue: 2, threshold: 1 }]);
    await repository.advance([scored('MIX', false, 3)], debounce);
  });

  it('lists raised alerts in byte order, with since, the latest value and its threshold, every double exactly', async () => {
    const debounce = new AlertDebounce(1, 2);
    const velY = MetricName.of('params.velRMS.y');
    await repository.advance(
      [
        scored('b', true, 1, 0.1 + 0.2, 1 / 3),
        scored('SEN2', true, 2, 5e-324, -1.7976931348623157e308),
        scored('SEN10', true, 3, 1.7976931348623157e308, 123456789.12345679),
        scored('SEN1', true, 4, 2, 1, velY),
        scored('SEN1', true, 5, 2, 1, VEL_X),
        scored('B', true, 6),
        scored('QUIET', false, 7),
      ],
      debounce,
    );
    // While raised, the latest reading is kept even when it changes nothing else: one more
    // above, and one below (pending, not yet enough to clear).
    await repository.advance([scored('b', true, 8, Math.PI, 2.220446049250313e-16), scored('SEN2', false, 9, -0.000123456789e-200, 0.75)], debounce);
    expect(await repository.listActive()).toEqual([
      { sensorId: 'B', metric: 'value', since: at(6), lastValue: 2, threshold: 1 },
      { sensorId: 'SEN1', metric: 'params.velRMS.x', since: at(5), lastValue: 2, threshold: 1 },
      { sensorId: 'SEN1', metric: 'params.velRMS.y', since: at(4), lastValue: 2, threshold: 1 },
      { sensorId: 'SEN10', metric: 'value', since: at(3), lastValue: 1.7976931348623157e308, threshold: 123456789.12345679 },
      { sensorId: 'SEN2', metric: 'value', since: at(2), lastValue: -0.000123456789e-200, threshold: 0.75 },
      { sensorId: 'b', metric: 'value', since: at(1), lastValue: Math.PI, threshold: 2.220446049250313e-16 },
    ]);
    const cleared = ['B', 'SEN1', 'SEN1', 'SEN10', 'SEN2', 'b'].flatMap((id, index) => {
      const metric = index === 1 ? VEL_X : index === 2 ? velY : VALUE;
      return [scored(id, false, 10, 0.5, 1, metric), scored(id, false, 11, 0.5, 1, metric)];
    });
    expect(count(await repository.advance(cleared, debounce), 'cleared')).toBe(6);
    expect(await repository.listActive()).toEqual([]);
  });

  it('keeps the states for another repository over the same storage (a restart, another replica)', async () => {
    const debounce = new AlertDebounce(2, 1);
    await repository.advance([scored('KEPT', true, 1)], debounce);
    const other = await store.another();
    // The pending count was kept: the other one's first reading above raises.
    expect(await other.advance([scored('KEPT', true, 2)], debounce)).toEqual(['raised']);
    expect(await repository.listActive()).toEqual([{ sensorId: 'KEPT', metric: 'value', since: at(2), lastValue: 2, threshold: 1 }]);
    // And the raise is not repeated.
    expect(await repository.advance([scored('KEPT', true, 3), scored('KEPT', true, 4)], debounce)).toEqual([undefined, undefined]);
    expect(await other.advance([scored('KEPT', false, 5)], debounce)).toEqual(['cleared']);
    expect(await repository.listActive()).toEqual([]);
  });

  it('two repositories advancing the same models at once decide each transition exactly once', async () => {
    const other = await store.another();
    const debounce = new AlertDebounce();
    for (let round = 0; round < 5; round++) {
      const ids = Array.from({ length: 8 }, (_, index) => `RACE${round}-${index}`);
      // Raised while no state is stored yet, cleared, raised again over stored states; the two
      // batches name the models in opposite orders.
      for (const [step, inAlert] of [true, false, true].entries()) {
        const batch = (order: string[]) => order.map((id) => scored(id, inAlert, round * 10 + step));
        const [mine, theirs] = await Promise.all([repository.advance(batch(ids), debounce), other.advance(batch([...ids].reverse()), debounce)]);
        const perModel = ids.map((_, index) => [mine[index], theirs[ids.length - 1 - index]].filter((transition) => transition !== undefined));
        expect(perModel).toEqual(ids.map(() => [inAlert ? 'raised' : 'cleared']));
      }
    }
    expect((await repository.listActive()).filter(({ sensorId }) => sensorId.startsWith('RACE'))).toHaveLength(40);
    const clear = Array.from({ length: 40 }, (_, index) => scored(`RACE${Math.floor(index / 8)}-${index % 8}`, false, 99));
    expect(count(await other.advance(clear, debounce), 'cleared')).toBe(40);
  });

  it('waits for a transaction holding the state elsewhere, then steps the state it left', async () => {
    if (!store.holding) return; // SQL stores only: the in-memory stand-in has no transactions to wait for
    const debounce = new AlertDebounce();
    expect(await repository.advance([scored('HELD', true, 1)], debounce)).toEqual(['raised']);
    // An operator clears the alert by hand in a transaction still open...
    const held = await store.holding("UPDATE alert_states SET status = 'cleared', pending = 0 WHERE sensor_id = 'HELD'");
    let settled = false;
    const advancing = repository.advance([scored('HELD', true, 2)], debounce).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(settled).toBe(false);
    await held.commit();
    // ...so the reading above raises it again: it was read after that commit, not before.
    expect(await advancing).toEqual(['raised']);
    expect(await repository.listActive()).toEqual([expect.objectContaining({ sensorId: 'HELD', since: at(2) })]);
    await repository.advance([scored('HELD', false, 3)], debounce);
  });

  it('refuses with StorageUnavailableError when the storage cannot serve, stepping nothing', async () => {
    const down = await store.unavailable();
    try {
      await expect(down.repository.advance([scored('DOWN', true, 1)], new AlertDebounce())).rejects.toThrow(StorageUnavailableError);
      const held = [{ sensor: Sensor.withId('HELD'), metric: VALUE }];
      if (down.readsFailToo) {
        await expect(down.repository.listActive()).rejects.toThrow(StorageUnavailableError);
        await expect(down.repository.findMany(held)).rejects.toThrow(StorageUnavailableError);
      } else {
        expect(await down.repository.listActive()).toEqual(await repository.listActive());
        expect(await down.repository.findMany(held)).toEqual(await repository.findMany(held));
      }
    } finally {
      await down.close();
    }
    expect(await repository.advance([scored('DOWN', true, 2)], new AlertDebounce())).toEqual(['raised']);
    await repository.advance([scored('DOWN', false, 3)], new AlertDebounce());
  });
}

// SQLite keeps writing to a deleted file through its open descriptor: states written then
// would be gone at the next start (and the raise repeated), so they are refused, as the
// weights' writes are.
describe('SQLite alert states over a file deleted while the service runs', () => {
  it('refuse every batch with StorageUnavailableError, naming the cause', async () => {
    const directory = makeTempDir();
    const path = join(directory, 'sensors.db');
    const storage = await openWeightsStorage({ dbPath: path });
    try {
      expect(await storage.alertStates.advance([scored('LOST', true, 1)], new AlertDebounce())).toEqual(['raised']);
      unlinkSync(path);
      const refusal = await storage.alertStates.advance([scored('LOST', false, 2)], new AlertDebounce()).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(StorageUnavailableError);
      expect((refusal as Error).message).toBe('The weights database cannot take this request now: its file was deleted or replaced while the service ran; restart the service.');
    } finally {
      await storage.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
