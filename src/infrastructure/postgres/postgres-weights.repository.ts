import type { Pool, PoolClient } from 'pg';
import type { FittedModel, ModelKey, WeightsRepository } from '../../application/ports/weights.repository';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import type { MetricName } from '../../domain/metric-name';
import type { Sensor } from '../../domain/sensor';
import type { SensorWeights } from '../../domain/sensor-weights';
import { UnrepresentableWeightsError } from '../../domain/domain-errors';
import { Weights } from '../../domain/weights';
import type { WeightsChange, WeightsRevision } from '../../domain/weights-revision';
import { errorCode } from '../error-shape';
import { describePostgresError, isConnectionLost } from './postgres-errors';

interface WeightsRow {
  sensor_id: string;
  metric: string;
  mean: number;
  std: number;
  n: number;
  version: number;
  updated_at: Date;
}

interface RevisionRow {
  version: number;
  change: WeightsChange;
  mean: number;
  std: number;
  n: number;
  recorded_at: Date;
}

// Timestamps keep milliseconds only, as a JavaScript Date (and the SQLite adapter) does,
// so what is stored is exactly what is read back.
const NOW = "date_trunc('milliseconds', clock_timestamp())";
// One instant for a whole batch, as the SQLite adapter stamps it: the transaction's start.
const TRANSACTION_START = "date_trunc('milliseconds', now())";

/**
 * Upserts many models and appends their revisions in one statement: the rows travel as
 * five arrays, one round trip per chunk instead of one per model.
 */
function upsertStatement(stampedAt: string): string {
  return `
    WITH input AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::bigint[]) AS t(sensor_id, metric, mean, std, n)
    ), written AS (
      INSERT INTO weights AS w (sensor_id, metric, mean, std, n, version, updated_at)
      SELECT sensor_id, metric, mean, std, n, 1, ${stampedAt} FROM input
      ON CONFLICT (sensor_id, metric) DO UPDATE SET
        mean = excluded.mean, std = excluded.std, n = excluded.n,
        version = w.version + 1, updated_at = excluded.updated_at
      RETURNING w.*
    ), recorded AS (
      INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, recorded_at)
      SELECT sensor_id, metric, version, 'fit', mean, std, n, updated_at FROM written
    )
    SELECT * FROM written`;
}

const REPLACE = upsertStatement(NOW);
const REPLACE_BATCH = upsertStatement(TRANSACTION_START);

// The adjust rule (factor ADJUST_MEAN_FACTOR, src/domain/adjust-rule.ts) applied in one
// statement that reads and writes the mean: a concurrent adjust waits for the row lock, then
// multiplies the mean it left, so no update is lost. The revision is part of the statement.
const SCALE_MEAN = `
  WITH written AS (
    UPDATE weights SET mean = mean * $1, version = version + 1, updated_at = ${NOW}
    WHERE sensor_id = $2 AND metric = $3
    RETURNING *
  ), recorded AS (
    INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, recorded_at)
    SELECT sensor_id, metric, version, 'adjust', mean, std, n, updated_at FROM written
  )
  SELECT * FROM written`;

// One statement is one snapshot: every model as of the same moment. In the keys' order,
// repeats included, as the SQLite adapter answers.
const FIND_MANY = `
  SELECT w.* FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(sensor_id, metric, position)
  JOIN weights w ON w.sensor_id = k.sensor_id COLLATE "C" AND w.metric = k.metric COLLATE "C"
  ORDER BY k.position`;

/** Bounds one statement's size; the trainer's 1000 sensors x 5 metrics take one. */
const BATCH_ROWS = 5000;

export class PostgresWeightsRepository implements WeightsRepository {
  constructor(private readonly pool: Pool) {}

  async replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights> {
    const { rows } = await storage(() => this.pool.query<WeightsRow>(REPLACE, columns([{ sensor, metric, weights }])));
    return toSensorWeights(rows[0]!);
  }

  async replaceAll(models: readonly FittedModel[]): Promise<void> {
    if (models.length === 0) return;
    await storage(() =>
      this.transaction(async (client) => {
        for (const chunk of chunks(models)) await client.query(REPLACE_BATCH, columns(chunk));
      }),
    );
  }

  async find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined> {
    // Named: each connection parses and plans the hot path's statement once, not per request.
    const { rows } = await storage(() =>
      this.pool.query<WeightsRow>({ name: 'find-weights', text: 'SELECT * FROM weights WHERE sensor_id = $1 AND metric = $2', values: [sensor.id, metric.name] }),
    );
    return rows[0] && toSensorWeights(rows[0]);
  }

  async findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]> {
    if (keys.length === 0) return [];
    const { rows } = await storage(() =>
      this.pool.query<WeightsRow>(FIND_MANY, [keys.map(({ sensor }) => sensor.id), keys.map(({ metric }) => metric.name)]),
    );
    return rows.map(toSensorWeights);
  }

  async list(sensor?: Sensor): Promise<SensorWeights[]> {
    const { rows } = await storage(() =>
      sensor
        ? this.pool.query<WeightsRow>('SELECT * FROM weights WHERE sensor_id = $1 ORDER BY metric', [sensor.id])
        : this.pool.query<WeightsRow>('SELECT * FROM weights ORDER BY sensor_id, metric'),
    );
    return rows.map(toSensorWeights);
  }

  async scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    try {
      const { rows } = await storage(() => this.pool.query<WeightsRow>(SCALE_MEAN, [factor, sensor.id, metric.name]));
      return rows[0] && toSensorWeights(rows[0]);
    } catch (error) {
      // PostgreSQL refuses a float8 product that overflows (22003); the CHECK catches the rest.
      const code = errorCode(error);
      if (code === '22003' || code === '23514') throw new UnrepresentableWeightsError();
      throw error;
    }
  }

  async history(sensor: Sensor, metric: MetricName, limit: number): Promise<WeightsRevision[]> {
    const { rows } = await storage(() =>
      this.pool.query<RevisionRow>(
        `SELECT version, change, mean, std, n, recorded_at FROM weights_history
         WHERE sensor_id = $1 AND metric = $2 ORDER BY id DESC LIMIT $3`,
        [sensor.id, metric.name, limit],
      ),
    );
    return rows.map((row) => ({
      version: row.version,
      change: row.change,
      weights: Weights.of(row.mean, row.std, row.n),
      recordedAt: row.recorded_at,
    }));
  }

  async ping(): Promise<void> {
    await storage(() => this.pool.query('SELECT 1'));
  }

  private async transaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      try {
        await work(client);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
        throw error;
      }
    } catch (error) {
      broken ??= isConnectionLost(error) ? error : undefined;
      throw error;
    } finally {
      // A connection whose rollback failed is not returned to the pool for someone else.
      client.release(broken ? (broken as Error) : undefined);
    }
  }
}

/** Splits the batch so no chunk names a model twice: one upsert cannot touch a row twice. */
function* chunks(models: readonly FittedModel[]): Generator<FittedModel[]> {
  let chunk: FittedModel[] = [];
  let keys = new Set<string>();
  for (const model of models) {
    const key = `${model.sensor.id}\u0000${model.metric.name}`;
    if (chunk.length === BATCH_ROWS || keys.has(key)) {
      yield chunk;
      chunk = [];
      keys = new Set();
    }
    chunk.push(model);
    keys.add(key);
  }
  if (chunk.length > 0) yield chunk;
}

function columns(models: readonly FittedModel[]): [string[], string[], number[], number[], number[]] {
  return [
    models.map((model) => model.sensor.id),
    models.map((model) => model.metric.name),
    models.map((model) => model.weights.mean),
    models.map((model) => model.weights.std),
    models.map((model) => model.weights.n),
  ];
}

/** Runs a storage call; a server that cannot take it becomes a StorageUnavailableError. */
async function storage<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isConnectionLost(error)) throw new StorageUnavailableError(describePostgresError(error), { cause: error });
    throw error;
  }
}

function toSensorWeights(row: WeightsRow): SensorWeights {
  return {
    sensorId: row.sensor_id,
    metric: row.metric,
    weights: Weights.of(row.mean, row.std, row.n),
    version: row.version,
    updatedAt: row.updated_at,
  };
}
