import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { AlertStateRepository } from '../../src/application/ports/alert-state.repository';
import type { FittedModel, WeightsRepository } from '../../src/application/ports/weights.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import { AlertDebounce } from '../../src/domain/alert-debounce';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { InsufficientReadingsError, RevisionNotFoundError, UnrepresentableWeightsError } from '../../src/domain/domain-errors';
import { ReadingsAccumulator, type Moments } from '../../src/domain/readings-accumulator';
import { Weights } from '../../src/domain/weights';
import { openPostgresPool } from '../../src/infrastructure/postgres/open-postgres-pool';
import { PostgresAlertStateRepository } from '../../src/infrastructure/postgres/postgres-alert-state.repository';
import { PostgresWeightsRepository } from '../../src/infrastructure/postgres/postgres-weights.repository';
import { openSqliteDatabase } from '../../src/infrastructure/sqlite/open-sqlite-database';
import { SqliteAlertStateRepository } from '../../src/infrastructure/sqlite/sqlite-alert-state.repository';
import { SqliteWeightsRepository } from '../../src/infrastructure/sqlite/sqlite-weights.repository';
import { InMemoryAlertStateRepository } from '../support/in-memory-alert-state.repository';
import { InMemoryWeightsRepository } from '../support/in-memory-weights.repository';
import { createTestDatabase, testPostgres } from '../support/postgres-server';
import { exactMean, meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
import { relativeError } from '../support/reference-statistics';
import { makeTempDir } from '../support/test-app';

/** One adapter as the contract sees it: a repository, raw SQL on its tables, and a way to lose it. */
interface OpenedStore {
  readonly repository: WeightsRepository;
  /** The alert states beside the weights, which remove() forgets. */
  readonly alertStates: AlertStateRepository;
  /** Runs one SQL statement outside the repository, as an operator (or an attacker) could; SQL stores only. */
  execute?(sql: string): Promise<void>;
  /** A repository over the same kind of storage that cannot take writes (down, or read-only). */
  unavailable(): Promise<{ repository: WeightsRepository; readsFailToo: boolean; close(): Promise<void> }>;
  close(): Promise<void>;
}

interface Adapter {
  readonly name: string;
  /** How the store words its refusal of weights the domain would refuse. */
  readonly refusal: RegExp;
  /** A SQL store, which can also be written around the repository. */
  readonly sql: boolean;
  open(): Promise<OpenedStore>;
}

// The fake every use-case unit test relies on: held to the same contract, so it cannot drift.
const inMemory: Adapter = {
  name: 'in-memory (the unit tests\' fake)',
  refusal: /At least 2 non-null readings|too large/,
  sql: false,
  open: async () => {
    const alertStates = new InMemoryAlertStateRepository();
    return {
      repository: new InMemoryWeightsRepository(alertStates),
      alertStates,
      unavailable: async () => {
        const down = new InMemoryWeightsRepository();
        down.reachable = false;
        return { repository: down, readsFailToo: true, close: async () => undefined };
      },
      close: async () => undefined,
    };
  },
};

const sqlite: Adapter = {
  name: 'SQLite',
  refusal: /check constraint/i,
  sql: true,
  open: async () => {
    const directory = makeTempDir();
    const path = join(directory, 'sensors.db');
    const db = openSqliteDatabase(path);
    return {
      repository: new SqliteWeightsRepository(db),
      alertStates: new SqliteAlertStateRepository(db),
      execute: async (sql) => void db.prepare(sql).run(),
      // A read-only handle: SQLITE_READONLY is the file's way of refusing every write.
      unavailable: async () => {
        const readOnly = new Database(path, { readonly: true });
        return { repository: new SqliteWeightsRepository(readOnly), readsFailToo: false, close: async () => void readOnly.close() };
      },
      close: async () => {
        db.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  },
};

function postgres(adminUrl: string): Adapter {
  return {
    name: 'PostgreSQL',
    refusal: /check constraint/i,
    sql: true,
    open: async () => {
      const database = await createTestDatabase(adminUrl, 'contract');
      const pool = await openPostgresPool(database.url);
      return {
        repository: new PostgresWeightsRepository(pool),
        alertStates: new PostgresAlertStateRepository(pool),
        execute: async (sql) => void (await pool.query(sql)),
        // Port 1 on loopback: nothing listens there, so every connection is refused.
        unavailable: async () => {
          const down = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
          return { repository: new PostgresWeightsRepository(down), readsFailToo: true, close: () => down.end() };
        },
        close: async () => {
          await pool.end();
          await database.drop();
        },
      };
    },
  };
}

const server = testPostgres();
const adapters: Adapter[] = 'url' in server ? [inMemory, sqlite, postgres(server.url)] : [inMemory, sqlite];

const VALUE = MetricName.DEFAULT;

/** Weights the domain would refuse, to make the storage's own CHECK constraints fire. */
function invalidWeights(mean: number, std: number, n: number): Weights {
  return { mean, std, n, adjustment: 1, learned: Weights.of(1, 1, 2).learned } as unknown as Weights;
}

/** The sufficient statistics of some readings, as the update use case hands them to merge. */
function momentsOf(readings: readonly number[]): Moments {
  const accumulator = new ReadingsAccumulator();
  for (const reading of readings) accumulator.add(reading);
  return accumulator.moments();
}

/** Readings spread over ~[0.045, 0.102), as vibration RMS values are; from a fixed seed. */
function randomReadings(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => 0.045 + 0.057 * ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648));
}

/**
 * The error a promise rejects with. Not `rejects.toThrow()`: better-sqlite3 builds its errors
 * with the Error of the first test file that loaded it, which toThrow does not take for one.
 */
async function rejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, got a result');
    },
    (error: unknown) => String((error as Error).message),
  );
}

/** 1.1 applied n times, in the order of float operations the storage uses. */
function scaled(mean: number, factor: number, times: number): number {
  let result = mean;
  for (let i = 0; i < times; i++) result *= factor;
  return result;
}

// The same cases for every adapter; without a server, PostgreSQL's show up as skipped, with a warning.
describe.each(adapters)('the $name weights repository', (adapter) => contract(adapter));
if ('unavailable' in server) {
  console.warn(`SKIPPED the PostgreSQL half of the weights repository contract: ${server.unavailable}`);
  describe.skip('the PostgreSQL weights repository', () => contract(postgres('')));
}

function contract(adapter: Adapter): void {
  let store: OpenedStore;
  let repository: WeightsRepository;

  beforeAll(async () => {
    store = await adapter.open();
    repository = store.repository;
  });
  afterAll(() => store.close());

  it('stores and finds weights with every double exactly as given', async () => {
    const cases: Array<[string, number, number, number]> = [
      ['EXACT1', 0.1 + 0.2, 1 / 3, 2],
      ['EXACT2', 5e-324, 0, 3],
      ['EXACT3', -1.7976931348623157e308, 1.7976931348623157e308, Number.MAX_SAFE_INTEGER],
      ['EXACT4', 123456789.12345679, 2.220446049250313e-16, 1_000_000_007],
      ['EXACT5', -0.000123456789e-200, Math.PI, 4],
    ];
    for (const [id, mean, std, n] of cases) {
      const before = Date.now();
      const stored = await repository.replace(Sensor.withId(id), VALUE, Weights.of(mean, std, n));
      const after = Date.now();
      expect(stored).toEqual({ sensorId: id, metric: 'value', weights: Weights.of(mean, std, n), version: 1, updatedAt: expect.any(Date) });
      expect(stored.weights.mean).toBe(mean);
      expect(stored.weights.std).toBe(std);
      expect(stored.weights.n).toBe(n);
      expect(stored.updatedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(stored.updatedAt.getTime()).toBeLessThanOrEqual(after);
      expect(await repository.find(Sensor.withId(id), VALUE)).toEqual(stored);
    }
  });

  it('finds nothing for an unknown sensor or metric', async () => {
    await repository.replace(Sensor.withId('KNOWN'), VALUE, Weights.of(1, 1, 2));
    expect(await repository.find(Sensor.withId('UNKNOWN'), VALUE)).toBeUndefined();
    expect(await repository.find(Sensor.withId('KNOWN'), MetricName.of('params.velRMS.x'))).toBeUndefined();
  });

  it('findMany answers the stored models among the keys, in their order, leaving out absent ones', async () => {
    const velocity = MetricName.of('params.velRMS.x');
    const a = await repository.replace(Sensor.withId('MANY-A'), VALUE, Weights.of(1, 1, 2));
    const b = await repository.replace(Sensor.withId('MANY-B'), velocity, Weights.of(0.1 + 0.2, 1 / 3, 3));
    const found = await repository.findMany([
      { sensor: Sensor.withId('MANY-B'), metric: velocity },
      { sensor: Sensor.withId('MANY-A'), metric: velocity }, // no such model
      { sensor: Sensor.withId('MANY-A'), metric: VALUE },
      { sensor: Sensor.withId('MANY-NONE'), metric: VALUE },
      { sensor: Sensor.withId('MANY-B'), metric: velocity },
    ]);
    expect(found).toEqual([b, a, b]);
    expect(await repository.findMany([])).toEqual([]);
  });

  it('findMany reads many keys in one go', async () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => ({ sensor: Sensor.withId(i % 2 ? 'MANY-A' : `MANY-X${i}`), metric: VALUE }));
    const found = await repository.findMany(keys);
    expect(found).toHaveLength(10_000);
    expect(found.every((model) => model.sensorId === 'MANY-A')).toBe(true);
  });

  it('counts versions: each replace adds one and one fit revision, stamped as the model', async () => {
    const sensor = Sensor.withId('VERSIONS');
    const first = await repository.replace(sensor, VALUE, Weights.of(1, 1, 2));
    const second = await repository.replace(sensor, VALUE, Weights.of(2, 0.5, 3));
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(await repository.find(sensor, VALUE)).toEqual(second);
    expect(await repository.history(sensor, VALUE, 10)).toEqual([
      { version: 2, change: 'fit', weights: Weights.of(2, 0.5, 3), recordedAt: second.updatedAt },
      { version: 1, change: 'fit', weights: Weights.of(1, 1, 2), recordedAt: first.updatedAt },
    ]);
  });

  it('lists by sensor id then metric, in byte order', async () => {
    const ids = ['ORD-b', 'ORD_a', 'ORDb', 'ORD.a', 'ORD0', 'ORDB', 'ORD-B', 'ORDa'];
    const metrics = ['value', 'params.velRMS.x', 'Value', 'params.accelRMS.y', 'params_x', 'params-x'];
    for (const id of ids) for (const metric of metrics) await repository.replace(Sensor.withId(id), MetricName.of(metric), Weights.of(1, 1, 2));
    const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

    const listed = (await repository.list()).filter((stored) => stored.sensorId.startsWith('ORD'));
    const expected = [...ids].sort(byteOrder).flatMap((id) => [...metrics].sort(byteOrder).map((metric) => [id, metric]));
    expect(listed.map((stored) => [stored.sensorId, stored.metric])).toEqual(expected);

    const one = await repository.list(Sensor.withId('ORD-b'));
    expect(one.map((stored) => stored.metric)).toEqual([...metrics].sort(byteOrder));
    expect(await repository.list(Sensor.withId('NOTHING'))).toEqual([]);
  });

  it('pages through list() in its order: every model once, after the one named, without deleted ones', async () => {
    const ids = ['PAG-b', 'PAG_a', 'PAGb', 'PAG.a', 'PAG0'];
    const metrics = ['value', 'Value', 'params.velRMS.x'];
    for (const id of ids) for (const metric of metrics) await repository.replace(Sensor.withId(id), MetricName.of(metric), Weights.of(1, 1, 2));
    await repository.remove(Sensor.withId('PAG0'), MetricName.of('Value'));
    const all = (await repository.list()).map((stored) => [stored.sensorId, stored.metric]);
    const paged: string[][] = [];
    for (let after: { sensorId: string; metric: string } | undefined, page; (page = await repository.listPage(4, after)).length > 0; ) {
      expect(page.length).toBeLessThanOrEqual(4);
      paged.push(...page.map((stored) => [stored.sensorId, stored.metric]));
      after = page.at(-1)!;
    }
    expect(paged).toEqual(all);
    expect(paged).not.toContainEqual(['PAG0', 'Value']);
    // After a model that does not exist: from the next one in that order ("Value" < "Valuf" < "params..." in bytes).
    const [next] = await repository.listPage(1, { sensorId: 'PAG-b', metric: 'Valuf' });
    expect([next!.sensorId, next!.metric]).toEqual(['PAG-b', 'params.velRMS.x']);
  });

  it('replaceAll stores a large batch in one go, and counts versions per model', async () => {
    const metrics = ['params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z', 'params.velRMS.x', 'value'].map((name) => MetricName.of(name));
    const batch = (offset: number): FittedModel[] =>
      Array.from({ length: 1000 }, (_, i) => Sensor.withId(`BULK${String(i).padStart(4, '0')}`)).flatMap((sensor, i) =>
        metrics.map((metric, j) => ({ sensor, metric, weights: Weights.of(i + j / 10 + offset, 0.1 * j, 2 + i) })),
      );
    await repository.replaceAll(batch(0));
    await repository.replaceAll(batch(0.5));

    const stored = (await repository.list()).filter((model) => model.sensorId.startsWith('BULK'));
    expect(stored).toHaveLength(5000);
    expect(stored.every((model) => model.version === 2)).toBe(true);
    // One instant for a whole batch.
    expect(new Set(stored.map((model) => model.updatedAt.getTime())).size).toBe(1);
    expect(await repository.find(Sensor.withId('BULK0999'), MetricName.of('params.velRMS.x'))).toMatchObject({
      weights: Weights.of(999 + 0.3 + 0.5, 0.1 * 3, 1001),
      version: 2,
    });
    const history = await repository.history(Sensor.withId('BULK0007'), MetricName.of('value'), 10);
    expect(history.map((revision) => [revision.version, revision.change, revision.weights.mean])).toEqual([
      [2, 'fit', 7 + 0.4 + 0.5],
      [1, 'fit', 7 + 0.4],
    ]);
  });

  it('replaceAll applies a model named twice in one batch twice, in order', async () => {
    const sensor = Sensor.withId('TWICE');
    await repository.replaceAll([
      { sensor, metric: VALUE, weights: Weights.of(1, 1, 2) },
      { sensor: Sensor.withId('TWICE2'), metric: VALUE, weights: Weights.of(5, 1, 2) },
      { sensor, metric: VALUE, weights: Weights.of(3, 1, 2) },
    ]);
    expect(await repository.find(sensor, VALUE)).toMatchObject({ weights: Weights.of(3, 1, 2), version: 2 });
    expect((await repository.history(sensor, VALUE, 10)).map((revision) => revision.weights.mean)).toEqual([3, 1]);
  });

  it('replaceAll writes all or nothing: a model the store refuses leaves every other as it was', async () => {
    const kept = await repository.replace(Sensor.withId('ATOMIC1'), VALUE, Weights.of(1, 1, 2));
    const batch: FittedModel[] = [
      { sensor: Sensor.withId('ATOMIC1'), metric: VALUE, weights: Weights.of(10, 1, 2) },
      { sensor: Sensor.withId('ATOMIC2'), metric: VALUE, weights: Weights.of(20, 1, 2) },
      { sensor: Sensor.withId('ATOMIC3'), metric: VALUE, weights: invalidWeights(30, 1, 1) }, // n >= 2 is a CHECK
      { sensor: Sensor.withId('ATOMIC4'), metric: VALUE, weights: Weights.of(40, 1, 2) },
    ];
    expect(await rejection(repository.replaceAll(batch))).toMatch(adapter.refusal);
    expect(await rejection(repository.replaceAll([{ sensor: Sensor.withId('ATOMIC5'), metric: VALUE, weights: invalidWeights(Infinity, 1, 2) }]))).toMatch(
      adapter.refusal,
    );

    expect(await repository.find(Sensor.withId('ATOMIC1'), VALUE)).toEqual(kept);
    for (const id of ['ATOMIC2', 'ATOMIC3', 'ATOMIC4', 'ATOMIC5']) expect(await repository.find(Sensor.withId(id), VALUE)).toBeUndefined();
    expect(await repository.history(Sensor.withId('ATOMIC1'), VALUE, 10)).toHaveLength(1);
    expect(await repository.history(Sensor.withId('ATOMIC2'), VALUE, 10)).toEqual([]);
    await repository.replaceAll([]);
  });

  it('scaleMean loses no update under 200 concurrent calls', async () => {
    const sensor = Sensor.withId('CONCURRENT');
    await repository.replace(sensor, VALUE, Weights.of(7.5, 2.0816659994661326, 4));
    const results = await Promise.all(Array.from({ length: 200 }, () => repository.scaleMean(sensor, VALUE, 1.1)));

    expect(new Set(results.map((result) => result?.version)).size).toBe(200);
    const stored = await repository.find(sensor, VALUE);
    expect(stored?.version).toBe(201);
    expect(relativeError(stored!.weights.mean, scaled(7.5, 1.1, 200))).toBeLessThan(1e-12);
    expect(stored!.weights.mean).toBe(scaled(7.5, 1.1, 200));
    expect(stored!.weights.std).toBe(2.0816659994661326);
    const history = await repository.history(sensor, VALUE, 1000);
    expect(history).toHaveLength(201);
    expect(history.map((revision) => revision.version)).toEqual(Array.from({ length: 201 }, (_, i) => 201 - i));
    expect(history.filter((revision) => revision.change === 'adjust')).toHaveLength(200);
    expect(history[0]).toEqual({ version: 201, change: 'adjust', weights: stored!.weights, recordedAt: stored!.updatedAt });
    // Paged: below a version, newest first; the pages together are the whole history.
    const pages = [await repository.history(sensor, VALUE, 80)];
    while (pages.at(-1)!.length > 0) pages.push(await repository.history(sensor, VALUE, 80, pages.at(-1)!.at(-1)!.version));
    expect(pages.map((page) => page.length)).toEqual([80, 80, 41, 0]);
    expect(pages.flat()).toEqual(history);
    expect(await repository.history(sensor, VALUE, 3, 100)).toEqual(history.slice(102, 105));
  });

  it('scaleMean of a missing model is undefined and writes nothing', async () => {
    expect(await repository.scaleMean(Sensor.withId('MISSING'), VALUE, 1.1)).toBeUndefined();
    expect(await repository.find(Sensor.withId('MISSING'), VALUE)).toBeUndefined();
    expect(await repository.history(Sensor.withId('MISSING'), VALUE, 10)).toEqual([]);
  });

  it('scaleMean refuses a mean that would overflow, and changes nothing', async () => {
    const sensor = Sensor.withId('HUGE');
    const stored = await repository.replace(sensor, VALUE, Weights.of(1.7e308, 1, 2));
    await expect(repository.scaleMean(sensor, VALUE, 1.1)).rejects.toThrow(UnrepresentableWeightsError);
    expect(await repository.find(sensor, VALUE)).toEqual(stored);
    expect(await repository.history(sensor, VALUE, 10)).toHaveLength(1);
  });

  it('scaleMean multiplies the adjustment with the mean, and leaves what was learned', async () => {
    const sensor = Sensor.withId('FACTOR');
    const fitted = await repository.replace(sensor, VALUE, Weights.fromReadings([10, 5, 6, 9]));
    expect(fitted.weights.adjustment).toBe(1);
    const once = await repository.scaleMean(sensor, VALUE, 1.1);
    const twice = await repository.scaleMean(sensor, VALUE, 1.1);
    expect([once!.weights.mean, twice!.weights.mean]).toEqual([7.5 * 1.1, 7.5 * 1.1 * 1.1]);
    expect([once!.weights.adjustment, twice!.weights.adjustment]).toEqual([1.1, 1.1 * 1.1]);
    expect(twice!.weights.learned).toEqual(fitted.weights.learned);
    expect(await repository.find(sensor, VALUE)).toEqual(twice);
  });

  it('merge of a fitted model learns what one fit of all its readings would: mean exact, std to 1e-13', async () => {
    const sensor = Sensor.withId('MERGE1');
    const first = randomReadings(1000, 1);
    const second = randomReadings(1, 2);
    const third = randomReadings(777, 3);
    await repository.replace(sensor, VALUE, Weights.fromReadings(first));
    const once = await repository.merge(sensor, VALUE, momentsOf(second));
    const merged = await repository.merge(sensor, VALUE, momentsOf(third));
    const all = [...first, ...second, ...third];
    expect(once.version).toBe(2);
    expect(merged).toMatchObject({ version: 3, weights: { n: all.length, adjustment: 1 } });
    expect(merged.weights.mean).toBe(exactMean(all));
    expect(meanErrorInUlps(merged.weights.mean, all)).toBeLessThanOrEqual(1);
    expect(stdRelativeError(merged.weights.std, all)).toBeLessThanOrEqual(1e-13);
    expect(await repository.find(sensor, VALUE)).toEqual(merged);
    // The learned sums round-trip through the store as the domain computes them.
    const inMemory = Weights.fromReadings(first).merged(momentsOf(second)).merged(momentsOf(third));
    expect((await repository.find(sensor, VALUE))!.weights.learned).toEqual(inMemory.learned);
    const history = await repository.history(sensor, VALUE, 10);
    expect(history.map((revision) => [revision.version, revision.change])).toEqual([
      [3, 'update'],
      [2, 'update'],
      [1, 'fit'],
    ]);
    expect(history[0]).toEqual({ version: 3, change: 'update', weights: merged.weights, recordedAt: merged.updatedAt });
  });

  it('merge keeps the adjustment applying to the merged mean', async () => {
    const sensor = Sensor.withId('MERGE2');
    await repository.replace(sensor, VALUE, Weights.fromReadings([10, 5, 6, 9]));
    await repository.scaleMean(sensor, VALUE, 1.1);
    const merged = await repository.merge(sensor, VALUE, momentsOf([12]));
    // The learned mean of [10, 5, 6, 9, 12] is 8.4, exactly representable as the double 8.4.
    expect(merged.weights).toMatchObject({ mean: 8.4 * 1.1, n: 5, adjustment: 1.1 });
    expect(stdRelativeError(merged.weights.std, [10, 5, 6, 9, 12])).toBeLessThanOrEqual(1e-13);
  });

  it('merge creates a model not stored yet from two readings, and refuses one, writing nothing', async () => {
    const sensor = Sensor.withId('MERGE3');
    await expect(repository.merge(sensor, VALUE, momentsOf([4]))).rejects.toThrow(InsufficientReadingsError);
    expect(await repository.find(sensor, VALUE)).toBeUndefined();
    expect(await repository.history(sensor, VALUE, 10)).toEqual([]);
    const created = await repository.merge(sensor, VALUE, momentsOf([4, 6]));
    expect(created).toMatchObject({ version: 1, weights: { mean: 5, n: 2, adjustment: 1 } });
    expect(created.weights.std).toBe(Math.SQRT2);
    expect((await repository.history(sensor, VALUE, 10)).map((revision) => revision.change)).toEqual(['update']);
  });

  it('merge loses no update under 200 concurrent calls, on a fitted model and on a new one', async () => {
    const readings = randomReadings(200, 7);
    for (const [id, fitted] of [
      ['MERGE-C1', [1, 2]],
      ['MERGE-C2', []],
    ] as const) {
      const sensor = Sensor.withId(id);
      if (fitted.length > 0) await repository.replace(sensor, VALUE, Weights.fromReadings(fitted));
      const pairs = fitted.length > 0 ? readings.map((reading) => [reading]) : readings.map((reading, i) => [reading, -i]);
      const results = await Promise.all(pairs.map((pair) => repository.merge(sensor, VALUE, momentsOf(pair))));
      const all = [...fitted, ...pairs.flat()];
      const offset = fitted.length > 0 ? 1 : 0;
      expect(new Set(results.map((result) => result.version)).size).toBe(200);
      const stored = (await repository.find(sensor, VALUE))!;
      expect(stored.version).toBe(200 + offset);
      expect(stored.weights.n).toBe(all.length);
      expect(stored.weights.mean).toBe(exactMean(all));
      expect(stdRelativeError(stored.weights.std, all)).toBeLessThanOrEqual(1e-13);
      expect(await repository.history(sensor, VALUE, 1000)).toHaveLength(200 + offset);
    }
  });

  it('mergeAll merges a batch in one transaction: all of it, or none', async () => {
    const kept = await repository.replace(Sensor.withId('MALL1'), VALUE, Weights.fromReadings([1, 2, 3]));
    await expect(
      repository.mergeAll([
        { sensor: Sensor.withId('MALL1'), metric: VALUE, readings: momentsOf([4]) },
        { sensor: Sensor.withId('MALL2'), metric: VALUE, readings: momentsOf([4]) }, // new, one reading: refused
      ]),
    ).rejects.toThrow(InsufficientReadingsError);
    expect(await repository.find(Sensor.withId('MALL1'), VALUE)).toEqual(kept);
    expect(await repository.find(Sensor.withId('MALL2'), VALUE)).toBeUndefined();

    await repository.mergeAll([
      { sensor: Sensor.withId('MALL1'), metric: VALUE, readings: momentsOf([4]) },
      { sensor: Sensor.withId('MALL2'), metric: VALUE, readings: momentsOf([4, 8]) },
    ]);
    expect(await repository.find(Sensor.withId('MALL1'), VALUE)).toMatchObject({ version: 2, weights: { mean: 2.5, n: 4 } });
    expect(await repository.find(Sensor.withId('MALL2'), VALUE)).toMatchObject({ version: 1, weights: { mean: 6, n: 2 } });
    await repository.mergeAll([]);
  });

  it('rollback restores what a revision recorded, statistics and adjustment, as a new version', async () => {
    const sensor = Sensor.withId('ROLLBACK');
    const fitted = await repository.replace(sensor, VALUE, Weights.fromReadings([10, 5, 6, 9]));
    const adjusted = await repository.scaleMean(sensor, VALUE, 1.1);
    await repository.replace(sensor, VALUE, Weights.fromReadings([100, 200]));
    const restored = await repository.rollback(sensor, VALUE, 2);
    expect(restored).toMatchObject({ version: 4 });
    expect(restored!.weights).toEqual(adjusted!.weights);
    expect(restored!.weights).toMatchObject({ mean: 7.5 * 1.1, adjustment: 1.1, n: 4 });
    // What it learned comes back too: an update merges into the fit of [10, 5, 6, 9].
    const updated = await repository.merge(sensor, VALUE, momentsOf([12]));
    expect(updated.weights).toMatchObject({ mean: 8.4 * 1.1, n: 5 });
    expect((await repository.rollback(sensor, VALUE, 1))!.weights).toEqual(fitted.weights);
    const history = await repository.history(sensor, VALUE, 10);
    expect(history.map((revision) => [revision.version, revision.change])).toEqual([
      [6, 'rollback'],
      [5, 'update'],
      [4, 'rollback'],
      [3, 'fit'],
      [2, 'adjust'],
      [1, 'fit'],
    ]);
  });

  it('rollback of a missing model is undefined, of a missing version refused; neither writes', async () => {
    expect(await repository.rollback(Sensor.withId('ROLLBACK-NONE'), VALUE, 1)).toBeUndefined();
    const sensor = Sensor.withId('ROLLBACK2');
    const stored = await repository.replace(sensor, VALUE, Weights.of(1, 1, 2));
    await expect(repository.rollback(sensor, VALUE, 2)).rejects.toThrow(RevisionNotFoundError);
    expect(await repository.find(sensor, VALUE)).toEqual(stored);
    expect(await repository.history(sensor, VALUE, 10)).toHaveLength(1);
  });

  it('remove takes the model out of every read, records the weights it had as change delete, and keeps the history', async () => {
    const sensor = Sensor.withId('REMOVE');
    const other = MetricName.of('params.velRMS.x');
    await repository.replace(sensor, VALUE, Weights.fromReadings([10, 5, 6, 9]));
    const adjusted = await repository.scaleMean(sensor, VALUE, 1.1);
    const kept = await repository.replace(sensor, other, Weights.of(3, 1, 2));
    const removed = await repository.remove(sensor, VALUE);
    expect(removed).toMatchObject({ sensorId: 'REMOVE', metric: 'value', version: 3 });
    expect(removed!.weights).toEqual(adjusted!.weights);
    expect(removed!.updatedAt.getTime()).toBeGreaterThanOrEqual(adjusted!.updatedAt.getTime());

    expect(await repository.find(sensor, VALUE)).toBeUndefined();
    expect(await repository.findMany([{ sensor, metric: VALUE }, { sensor, metric: other }])).toEqual([kept]);
    expect(await repository.list(sensor)).toEqual([kept]);
    expect((await repository.list()).filter((model) => model.sensorId === 'REMOVE')).toEqual([kept]);
    expect(await repository.scaleMean(sensor, VALUE, 1.1)).toBeUndefined();
    const history = await repository.history(sensor, VALUE, 10);
    expect(history.map((revision) => [revision.version, revision.change])).toEqual([
      [3, 'delete'],
      [2, 'adjust'],
      [1, 'fit'],
    ]);
    expect(history[0]!.weights).toEqual(adjusted!.weights);
    expect(history[0]!.recordedAt).toEqual(removed!.updatedAt);
    // Gone already, or never stored: undefined, and nothing written.
    expect(await repository.remove(sensor, VALUE)).toBeUndefined();
    expect(await repository.remove(Sensor.withId('REMOVE-NONE'), VALUE)).toBeUndefined();
    expect(await repository.history(sensor, VALUE, 10)).toHaveLength(3);
    expect(await repository.history(Sensor.withId('REMOVE-NONE'), VALUE, 10)).toEqual([]);
    expect(await repository.find(sensor, other)).toEqual(kept);
  });

  it('remove forgets the alert state in the same transaction, answering the alert it forgot when it was raised', async () => {
    const raised = Sensor.withId('REMOVE-RAISED');
    const cleared = Sensor.withId('REMOVE-CLEARED');
    const unscored = Sensor.withId('REMOVE-UNSCORED');
    for (const sensor of [raised, cleared, unscored]) await repository.replace(sensor, VALUE, Weights.of(3, 1, 2));
    const reading = (sensor: Sensor, value: number, second: number) => ({ sensor, metric: VALUE, value, at: new Date(second * 1000), inAlert: value >= 5.5, threshold: 5.5 });
    await store.alertStates.advance([reading(raised, 6.25, 1), reading(raised, 7.5, 2), reading(cleared, 9, 3), reading(cleared, 0.5, 4)], new AlertDebounce());
    expect((await store.alertStates.listActive()).filter((alert) => alert.sensorId.startsWith('REMOVE-'))).toHaveLength(1);

    expect((await repository.remove(raised, VALUE))!.raisedAlert).toEqual({ lastValue: 7.5, threshold: 5.5 });
    expect(await repository.remove(cleared, VALUE)).not.toHaveProperty('raisedAlert');
    expect(await repository.remove(unscored, VALUE)).not.toHaveProperty('raisedAlert');
    expect((await store.alertStates.listActive()).filter((alert) => alert.sensorId.startsWith('REMOVE-'))).toEqual([]);
    // Forgotten, not left raised: the model stored again starts cleared, and its first alert raises.
    await repository.replace(raised, VALUE, Weights.of(3, 1, 2));
    expect(await store.alertStates.advance([reading(raised, 8, 5)], new AlertDebounce())).toEqual(['raised']);
  });

  it('readings of a model deleted since they were scored step no alert state, until it is stored again', async () => {
    const sensor = Sensor.withId('REMOVE-SCORED');
    await repository.replace(sensor, VALUE, Weights.of(3, 1, 2));
    const reading = (value: number, second: number) => ({ sensor, metric: VALUE, value, at: new Date(second * 1000), inAlert: value >= 5, threshold: 5 });
    await repository.remove(sensor, VALUE);
    expect(await store.alertStates.advance([reading(9, 1), reading(9, 2)], new AlertDebounce())).toEqual([undefined, undefined]);
    expect((await store.alertStates.listActive()).filter((alert) => alert.sensorId === 'REMOVE-SCORED')).toEqual([]);
    expect((await repository.remove(sensor, VALUE))?.raisedAlert).toBeUndefined();
    await repository.replace(sensor, VALUE, Weights.of(3, 1, 2));
    expect(await store.alertStates.advance([reading(9, 3)], new AlertDebounce())).toEqual(['raised']);
  });

  it('a deleted model stored again starts afresh, its versions going on from the deletion', async () => {
    const fitted = Sensor.withId('REMOVE-FIT');
    await repository.replace(fitted, VALUE, Weights.of(1, 1, 2));
    await repository.remove(fitted, VALUE);
    expect(await repository.replace(fitted, VALUE, Weights.of(5, 2, 3))).toMatchObject({ version: 3, weights: { mean: 5, std: 2, n: 3 } });
    expect((await repository.history(fitted, VALUE, 10)).map((revision) => revision.change)).toEqual(['fit', 'delete', 'fit']);

    // An update does not merge into what was deleted: two readings make a new model.
    const merged = Sensor.withId('REMOVE-MERGE');
    await repository.replace(merged, VALUE, Weights.fromReadings([100, 200, 300]));
    await repository.remove(merged, VALUE);
    await expect(repository.merge(merged, VALUE, momentsOf([4]))).rejects.toThrow(InsufficientReadingsError);
    expect(await repository.merge(merged, VALUE, momentsOf([4, 8]))).toMatchObject({ version: 3, weights: { mean: 6, n: 2 } });

    const batch = Sensor.withId('REMOVE-BATCH');
    await repository.replaceAll([{ sensor: batch, metric: VALUE, weights: Weights.of(1, 1, 2) }]);
    await repository.remove(batch, VALUE);
    await repository.mergeAll([{ sensor: batch, metric: VALUE, readings: momentsOf([1, 3]) }]);
    expect(await repository.find(batch, VALUE)).toMatchObject({ version: 3, weights: { mean: 2, n: 2 } });
    await repository.remove(batch, VALUE);
    await repository.replaceAll([{ sensor: batch, metric: VALUE, weights: Weights.of(7, 1, 2) }]);
    expect(await repository.find(batch, VALUE)).toMatchObject({ version: 5, weights: { mean: 7 } });
  });

  it('mergeAll merges readings given a scoredVersion only into that model: not one deleted, refitted, rolled back or never stored', async () => {
    const kept = Sensor.withId('SCORED-KEPT');
    const adjusted = Sensor.withId('SCORED-ADJUSTED');
    const deleted = Sensor.withId('SCORED-DELETED');
    const recreated = Sensor.withId('SCORED-RECREATED');
    const refitted = Sensor.withId('SCORED-REFITTED');
    const rolledBack = Sensor.withId('SCORED-ROLLED');
    const never = Sensor.withId('SCORED-NEVER');
    for (const sensor of [kept, adjusted, deleted, recreated, refitted, rolledBack]) await repository.replace(sensor, VALUE, Weights.fromReadings([1, 3]));
    await repository.merge(kept, VALUE, momentsOf([2])); // version 2: an update since version 1 keeps the line
    await repository.scaleMean(adjusted, VALUE, 2);
    await repository.remove(deleted, VALUE);
    await repository.remove(recreated, VALUE);
    await repository.replace(recreated, VALUE, Weights.fromReadings([100, 102]));
    await repository.replace(refitted, VALUE, Weights.fromReadings([100, 102]));
    await repository.rollback(rolledBack, VALUE, 1);
    const scored = (sensor: Sensor, readings: number[], scoredVersion = 1) => ({ sensor, metric: VALUE, readings: momentsOf(readings), scoredVersion });
    await repository.mergeAll([
      scored(kept, [6]),
      scored(adjusted, [6]),
      // One reading could not make a model: left out, it cannot refuse the batch either.
      scored(deleted, [4]),
      scored(recreated, [4, 8]),
      scored(refitted, [4]),
      scored(refitted, [104], 2),
      scored(rolledBack, [4]),
      scored(never, [4, 8]),
      scored(kept, [8], 2),
    ]);
    // Named twice: two updates.
    expect(await repository.find(kept, VALUE)).toMatchObject({ version: 4, weights: { mean: 4, n: 5 } });
    expect(await repository.find(adjusted, VALUE)).toMatchObject({ version: 3, weights: { mean: (10 / 3) * 2, n: 3, adjustment: 2 } });
    expect(await repository.find(deleted, VALUE)).toBeUndefined();
    expect(await repository.history(deleted, VALUE, 10)).toHaveLength(2);
    expect(await repository.find(recreated, VALUE)).toMatchObject({ version: 3, weights: { mean: 101, n: 2 } });
    expect(await repository.find(refitted, VALUE)).toMatchObject({ version: 3, weights: { mean: 102, n: 3 } });
    expect(await repository.find(rolledBack, VALUE)).toMatchObject({ version: 2, weights: { mean: 2, n: 2 } });
    expect(await repository.find(never, VALUE)).toBeUndefined();
    expect(await repository.history(never, VALUE, 10)).toEqual([]);
  });

  it('rollback restores a deleted model from any of its revisions, as a new version', async () => {
    const sensor = Sensor.withId('REMOVE-UNDO');
    const fitted = await repository.replace(sensor, VALUE, Weights.fromReadings([10, 5, 6, 9]));
    await repository.remove(sensor, VALUE);
    await expect(repository.rollback(sensor, VALUE, 7)).rejects.toThrow(RevisionNotFoundError);
    expect(await repository.find(sensor, VALUE)).toBeUndefined();
    const restored = await repository.rollback(sensor, VALUE, 1);
    expect(restored).toMatchObject({ version: 3 });
    expect(restored!.weights).toEqual(fitted.weights);
    expect(await repository.find(sensor, VALUE)).toEqual(restored);
    // What it learned comes back too: an update merges into the fit of [10, 5, 6, 9].
    expect((await repository.merge(sensor, VALUE, momentsOf([12]))).weights).toMatchObject({ mean: 8.4, n: 5 });
  });

  it('returns history newest first, at most `limit` revisions', async () => {
    const sensor = Sensor.withId('HISTORY');
    const other = MetricName.of('params.velRMS.x');
    await repository.replace(sensor, VALUE, Weights.of(10, 1, 2));
    await repository.replace(sensor, other, Weights.of(99, 1, 2));
    for (let i = 0; i < 3; i++) await repository.scaleMean(sensor, VALUE, 2);

    const latest = await repository.history(sensor, VALUE, 2);
    expect(latest.map((revision) => [revision.version, revision.change, revision.weights.mean])).toEqual([
      [4, 'adjust', 80],
      [3, 'adjust', 40],
    ]);
    const all = await repository.history(sensor, VALUE, 100);
    expect(all.map((revision) => [revision.version, revision.change, revision.weights.mean])).toEqual([
      [4, 'adjust', 80],
      [3, 'adjust', 40],
      [2, 'adjust', 20],
      [1, 'fit', 10],
    ]);
    expect(all.every((revision, i) => i === 0 || revision.recordedAt <= all[i - 1]!.recordedAt)).toBe(true);
    expect(await repository.history(sensor, other, 100)).toHaveLength(1);
  });

  if (adapter.sql) {
    it('stores a deleted model again when a build that knows no deletion (schema 3, still running) writes it, as that build acknowledged', async () => {
      const sensor = Sensor.withId('OLD-BUILD');
      await repository.replace(sensor, VALUE, Weights.of(1, 1, 2));
      await repository.remove(sensor, VALUE);
      // What the schema-3 build's adjust runs: no word of `deleted`.
      await store.execute!("UPDATE weights SET mean = mean * 2, version = version + 1 WHERE sensor_id = 'OLD-BUILD' AND metric = 'value'");
      expect(await repository.find(sensor, VALUE)).toMatchObject({ version: 3, weights: { mean: 2 } });
      // This build's own writes to a deleted row are not touched: the deletion stands.
      await repository.remove(sensor, VALUE);
      expect(await repository.find(sensor, VALUE)).toBeUndefined();
      expect(await repository.scaleMean(sensor, VALUE, 2)).toBeUndefined();
      expect(await repository.find(sensor, VALUE)).toBeUndefined();
    });

    it('keeps the history append-only: the database refuses to rewrite it', async () => {
      await repository.replace(Sensor.withId('AUDIT'), VALUE, Weights.of(1, 1, 2));
      expect(await rejection(store.execute!('UPDATE weights_history SET mean = 0'))).toBe('weights_history is append-only');
      expect(await rejection(store.execute!("DELETE FROM weights_history WHERE sensor_id = 'AUDIT'"))).toBe('weights_history is append-only');
      expect(await repository.history(Sensor.withId('AUDIT'), VALUE, 10)).toHaveLength(1);
    });
  }

  it('refuses, in the store, weights the domain would refuse', async () => {
    for (const [mean, std, n] of [
      [Infinity, 1, 2],
      [-Infinity, 1, 2],
      [1, -1, 2],
      [1, Infinity, 2],
      [1, 1, 1],
    ] as const) {
      expect(await rejection(repository.replace(Sensor.withId('CHECKS'), VALUE, invalidWeights(mean, std, n)))).toMatch(adapter.refusal);
    }
    expect(await repository.find(Sensor.withId('CHECKS'), VALUE)).toBeUndefined();
  });

  it('answers ping', async () => {
    await expect(repository.ping()).resolves.toBeUndefined();
  });

  it('turns storage that cannot take writes into StorageUnavailableError', async () => {
    const sensor = Sensor.withId('KNOWN');
    const down = await store.unavailable();
    try {
      await expect(down.repository.replace(sensor, VALUE, Weights.of(1, 1, 2))).rejects.toThrow(StorageUnavailableError);
      await expect(down.repository.replaceAll([{ sensor, metric: VALUE, weights: Weights.of(1, 1, 2) }])).rejects.toThrow(StorageUnavailableError);
      await expect(down.repository.scaleMean(sensor, VALUE, 1.1)).rejects.toThrow(StorageUnavailableError);
      if (down.readsFailToo) {
        await expect(down.repository.find(sensor, VALUE)).rejects.toThrow(StorageUnavailableError);
        await expect(down.repository.findMany([{ sensor, metric: VALUE }])).rejects.toThrow(StorageUnavailableError);
        await expect(down.repository.list()).rejects.toThrow(StorageUnavailableError);
        await expect(down.repository.history(sensor, VALUE, 10)).rejects.toThrow(StorageUnavailableError);
        await expect(down.repository.ping()).rejects.toThrow(StorageUnavailableError);
      }
    } finally {
      await down.close();
    }
    expect(await repository.find(sensor, VALUE)).toMatchObject({ version: 1 });
  });
}
