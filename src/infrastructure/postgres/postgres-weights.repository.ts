import type { Pool, PoolClient } from 'pg';
import type { FittedModel, ModelKey, ModelReadings, RemovedModel, WeightsRepository } from '../../application/ports/weights.repository';
import type { MetricName } from '../../domain/metric-name';
import { ReadingsAccumulator, type Moments } from '../../domain/readings-accumulator';
import type { Sensor } from '../../domain/sensor';
import type { SensorWeights } from '../../domain/sensor-weights';
import { RevisionNotFoundError, UnrepresentableWeightsError } from '../../domain/domain-errors';
import { Weights } from '../../domain/weights';
import { REPLACING_CHANGES, type WeightsChange, type WeightsRevision } from '../../domain/weights-revision';
import { errorCode } from '../error-shape';
import { sqlList } from '../sql-literals';
import { served as storage } from './postgres-errors';
import { inTransaction } from './postgres-transaction';
import { modelKey } from '../../domain/identifier-rule';

interface WeightsRow {
  sensor_id: string;
  metric: string;
  mean: number;
  std: number;
  n: number;
  adjustment: number;
  /** JSON of the learned Moments; NULL for a model stored before schema 2. */
  moments: string | null;
  version: number;
  updated_at: Date;
  /** Once deleted, the row stays, so that the model's versions go on counting. */
  deleted: boolean;
}

/** REMOVE's row: the model deleted, and the alert state it forgot (all null when it had none). */
interface RemovedRow extends WeightsRow {
  alert_status: 'raised' | 'cleared' | null;
  alert_last_value: number | null;
  alert_threshold: number | null;
}

interface RevisionRow {
  version: number;
  change: WeightsChange;
  mean: number;
  std: number;
  n: number;
  adjustment: number;
  moments: string | null;
  recorded_at: Date;
}

// Timestamps keep milliseconds only, as a JavaScript Date (and the SQLite adapter) does,
// so what is stored is exactly what is read back.
const NOW = "date_trunc('milliseconds', clock_timestamp())";
// One instant for a whole batch, as the SQLite adapter stamps it: the transaction's start.
const TRANSACTION_START = "date_trunc('milliseconds', now())";

/**
 * Upserts many models and appends their revisions (change $8) in one statement: the rows
 * travel as seven arrays, one round trip per chunk instead of one per model.
 */
function upsertStatement(stampedAt: string): string {
  return `
    WITH input AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::bigint[], $6::float8[], $7::text[])
        AS t(sensor_id, metric, mean, std, n, adjustment, moments)
    ), written AS (
      INSERT INTO weights AS w (sensor_id, metric, mean, std, n, adjustment, moments, version, updated_at)
      SELECT sensor_id, metric, mean, std, n, adjustment, moments, 1, ${stampedAt} FROM input
      -- Stamped again here, once the row is locked: a fit that waited for another write is
      -- dated after it, as its version is.
      ON CONFLICT (sensor_id, metric) DO UPDATE SET
        mean = excluded.mean, std = excluded.std, n = excluded.n, adjustment = excluded.adjustment, moments = excluded.moments,
        version = w.version + 1, updated_at = ${stampedAt}, deleted = false
      RETURNING w.*
    ), recorded AS (
      INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, adjustment, moments, recorded_at)
      SELECT sensor_id, metric, version, $8, mean, std, n, adjustment, moments, updated_at FROM written
    )
    SELECT * FROM written`;
}

const REPLACE = upsertStatement(NOW);
const REPLACE_BATCH = upsertStatement(TRANSACTION_START);

// The models a merge reads, locked until it commits, in byte order: concurrent merges of
// overlapping batches take their locks in the same order, so they queue instead of deadlocking.
// Deleted ones too: their rows hold the version to go on from.
const LOCK_MODELS = `
  SELECT w.* FROM unnest($1::text[], $2::text[]) AS k(sensor_id, metric)
  JOIN weights w ON w.sensor_id = k.sensor_id COLLATE "C" AND w.metric = k.metric COLLATE "C"
  ORDER BY w.sensor_id, w.metric
  FOR UPDATE OF w`;

// Of the models given with the version their readings were scored against, those deleted,
// refitted or rolled back since: their readings belong to a model that is gone.
const REPLACED_SINCE = `
  SELECT DISTINCT k.sensor_id, k.metric, k.since FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(sensor_id, metric, since)
  JOIN weights_history h ON h.sensor_id = k.sensor_id COLLATE "C" AND h.metric = k.metric COLLATE "C" AND h.version > k.since
  WHERE h.change IN (${sqlList(REPLACING_CHANGES)})`;

const SELECT_REVISION = `
  SELECT version, change, mean, std, n, adjustment, moments, recorded_at FROM weights_history
  WHERE sensor_id = $1 AND metric = $2 AND version = $3 ORDER BY id DESC LIMIT 1`;

/** How often a merge that raced another's creation of the same new model starts over. */
const MERGE_ATTEMPTS = 10;

/** Another transaction created a model this one found absent: start over, it is there now. */
class ModelCreatedMeanwhile extends Error {}

// The adjust rule (factor ADJUST_MEAN_FACTOR, src/domain/adjust-rule.ts) applied in one
// statement that reads and writes the mean: a concurrent adjust waits for the row lock, then
// multiplies the mean it left, so no update is lost. The revision is part of the statement.
const SCALE_MEAN = `
  WITH written AS (
    UPDATE weights SET mean = mean * $1, adjustment = adjustment * $1, version = version + 1, updated_at = ${NOW}
    WHERE sensor_id = $2 AND metric = $3 AND NOT deleted
    RETURNING *
  ), recorded AS (
    INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, adjustment, moments, recorded_at)
    SELECT sensor_id, metric, version, 'adjust', mean, std, n, adjustment, moments, updated_at FROM written
  )
  SELECT * FROM written`;

// Marks the model deleted, records the weights it had, and forgets its alert state, in one
// statement that also answers the state forgotten (run once the model's row is locked).
const REMOVE = `
  WITH written AS (
    UPDATE weights SET deleted = true, version = version + 1, updated_at = ${NOW}
    WHERE sensor_id = $1 AND metric = $2 AND NOT deleted
    RETURNING *
  ), recorded AS (
    INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, adjustment, moments, recorded_at)
    SELECT sensor_id, metric, version, 'delete', mean, std, n, adjustment, moments, updated_at FROM written
  ), forgotten AS (
    DELETE FROM alert_states s USING written w WHERE s.sensor_id = w.sensor_id AND s.metric = w.metric
    RETURNING s.status, s.last_value, s.threshold
  )
  SELECT w.*, f.status AS alert_status, f.last_value AS alert_last_value, f.threshold AS alert_threshold
  FROM written w LEFT JOIN forgotten f ON true`;

// One statement is one snapshot: every model as of the same moment. In the keys' order,
// repeats included, as the SQLite adapter answers.
const FIND_MANY = `
  SELECT w.* FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(sensor_id, metric, position)
  JOIN weights w ON w.sensor_id = k.sensor_id COLLATE "C" AND w.metric = k.metric COLLATE "C" AND NOT w.deleted
  ORDER BY k.position`;

/** Bounds one statement's size; the trainer's 1000 sensors x 5 metrics take one. */
const BATCH_ROWS = 5000;

export class PostgresWeightsRepository implements WeightsRepository {
  /**
   * Writes use `pool`; reads and the health check `reads` (by default the same): writers
   * queued behind one model's row lock then hold no connection a read needs.
   */
  constructor(
    private readonly pool: Pool,
    private readonly reads: Pool = pool,
  ) {}

  async replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights> {
    const { rows } = await storage(() => this.pool.query<WeightsRow>(REPLACE, [...columns([{ sensor, metric, weights }]), 'fit']), { oneStatementWrite: true });
    return toSensorWeights(rows[0]!);
  }

  async replaceAll(models: readonly FittedModel[]): Promise<void> {
    if (models.length === 0) return;
    // Written in byte order, as mergeAll's are: two trainings over the same models in other
    // orders (two files, or one and live learning) took their row locks crosswise, and
    // deadlocked every time (40P01, one of them refused).
    const ordered = inByteOrder(models);
    await storage(() =>
      this.transaction(async (client) => {
        for (const chunk of chunks(ordered)) await client.query(REPLACE_BATCH, [...columns(chunk), 'fit']);
      }),
    );
  }

  async merge(sensor: Sensor, metric: MetricName, readings: Moments): Promise<SensorWeights> {
    const [written] = await this.mergeInTransaction([{ sensor, metric, readings }], NOW);
    return toSensorWeights(written!);
  }

  async mergeAll(models: readonly ModelReadings[]): Promise<void> {
    // Written in byte order, as they are locked: concurrent batches creating the same new
    // models insert them in the same order, so one waits for the other instead of deadlocking.
    if (models.length > 0) await this.mergeInTransaction(inByteOrder(models), TRANSACTION_START);
  }

  async rollback(sensor: Sensor, metric: MetricName, version: number): Promise<SensorWeights | undefined> {
    const written = await storage(() =>
      this.transaction(async (client) => {
        const { rows } = await client.query<WeightsRow>(LOCK_MODELS, [[sensor.id], [metric.name]]);
        if (rows.length === 0) return undefined;
        const { rows: revisions } = await client.query<RevisionRow>(SELECT_REVISION, [sensor.id, metric.name, version]);
        if (revisions.length === 0) throw new RevisionNotFoundError(sensor.id, metric.name, version);
        const { rows: written } = await client.query<WeightsRow>(REPLACE, [...columns([{ sensor, metric, weights: toWeights(revisions[0]!) }]), 'rollback']);
        return written[0];
      }),
    );
    return written && toSensorWeights(written);
  }

  /**
   * Reads the models with their rows locked (SELECT ... FOR UPDATE), merges the readings in,
   * and writes them back, in one transaction: a concurrent merge, on this replica or another,
   * waits for the locks and then reads what this one wrote. A model absent at the read has no
   * row to lock: if another transaction creates it first, the write finds its version not 1,
   * and the whole merge starts over.
   */
  private async mergeInTransaction(models: readonly ModelReadings[], stampedAt: string): Promise<WeightsRow[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await storage(() => this.transaction((client) => this.mergeWith(client, models, stampedAt)));
      } catch (error) {
        if (!(error instanceof ModelCreatedMeanwhile) || attempt === MERGE_ATTEMPTS) throw error;
      }
    }
  }

  private async mergeWith(client: PoolClient, models: readonly ModelReadings[], stampedAt: string): Promise<WeightsRow[]> {
    const { rows } = await client.query<WeightsRow>(LOCK_MODELS, [models.map(({ sensor }) => sensor.id), models.map(({ metric }) => metric.name)]);
    const replaced = await this.replacedSince(client, models);
    const current = new Map<string, { weights?: Weights; version: number }>(
      rows.map((row) => [modelKey(row.sensor_id, row.metric), { weights: row.deleted ? undefined : toWeights(row), version: row.version }]),
    );
    const writes: Array<FittedModel & { version: number }> = [];
    for (const { sensor, metric, readings, scoredVersion } of models) {
      const key = modelKey(sensor.id, metric.name);
      const stored = current.get(key);
      if (scoredVersion !== undefined && (!stored?.weights || replaced.has(`${key}@${scoredVersion}`))) continue;
      const weights = stored?.weights ? stored.weights.merged(readings) : Weights.fromAccumulator(ReadingsAccumulator.fromMoments(readings));
      const next = { weights, version: (stored?.version ?? 0) + 1 };
      current.set(key, next);
      writes.push({ sensor, metric, ...next });
    }
    const written: WeightsRow[] = [];
    for (const chunk of chunks(writes)) {
      const { rows: chunkRows } = await client.query<WeightsRow>(upsertStatement(stampedAt), [...columns(chunk), 'update']);
      const expected = new Map(chunk.map((write) => [modelKey(write.sensor.id, write.metric.name), write.version]));
      if (chunkRows.some((row) => expected.get(modelKey(row.sensor_id, row.metric)) !== row.version)) throw new ModelCreatedMeanwhile();
      const byKey = new Map(chunkRows.map((row) => [modelKey(row.sensor_id, row.metric), row]));
      written.push(...chunk.map((write) => byKey.get(modelKey(write.sensor.id, write.metric.name))!));
    }
    return written;
  }

  /** `key@scoredVersion` of each entry whose model was deleted, refitted or rolled back since (read under the models' row locks). */
  private async replacedSince(client: PoolClient, models: readonly ModelReadings[]): Promise<Set<string>> {
    const scored = models.filter((model) => model.scoredVersion !== undefined);
    if (scored.length === 0) return new Set();
    const { rows } = await client.query<{ sensor_id: string; metric: string; since: number }>(REPLACED_SINCE, [
      scored.map(({ sensor }) => sensor.id),
      scored.map(({ metric }) => metric.name),
      scored.map(({ scoredVersion }) => scoredVersion),
    ]);
    return new Set(rows.map((row) => `${modelKey(row.sensor_id, row.metric)}@${row.since}`));
  }

  async find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined> {
    // Named: each connection parses and plans the hot path's statement once, not per request.
    const { rows } = await storage(() =>
      this.reads.query<WeightsRow>({ name: 'find-weights', text: 'SELECT * FROM weights WHERE sensor_id = $1 AND metric = $2 AND NOT deleted', values: [sensor.id, metric.name] }),
    );
    return rows[0] && toSensorWeights(rows[0]);
  }

  async findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]> {
    if (keys.length === 0) return [];
    const { rows } = await storage(() =>
      this.reads.query<WeightsRow>(FIND_MANY, [keys.map(({ sensor }) => sensor.id), keys.map(({ metric }) => metric.name)]),
    );
    return rows.map(toSensorWeights);
  }

  async list(sensor?: Sensor): Promise<SensorWeights[]> {
    const { rows } = await storage(() =>
      sensor
        ? this.reads.query<WeightsRow>('SELECT * FROM weights WHERE sensor_id = $1 AND NOT deleted ORDER BY metric', [sensor.id])
        : this.reads.query<WeightsRow>('SELECT * FROM weights WHERE NOT deleted ORDER BY sensor_id, metric'),
    );
    return rows.map(toSensorWeights);
  }

  async listPage(limit: number, after?: { readonly sensorId: string; readonly metric: string }): Promise<SensorWeights[]> {
    // The columns' COLLATE "C" orders the row comparison too: list()'s byte order, from the primary key. ('', ''): before every model.
    const { rows } = await storage(() =>
      this.reads.query<WeightsRow>('SELECT * FROM weights WHERE NOT deleted AND (sensor_id, metric) > ($1, $2) ORDER BY sensor_id, metric LIMIT $3', [after?.sensorId ?? '', after?.metric ?? '', limit]),
    );
    return rows.map(toSensorWeights);
  }

  async scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    try {
      const { rows } = await storage(() => this.pool.query<WeightsRow>(SCALE_MEAN, [factor, sensor.id, metric.name]), { oneStatementWrite: true });
      return rows[0] && toSensorWeights(rows[0]);
    } catch (error) {
      // PostgreSQL refuses a float8 product that overflows (22003); the CHECK catches the rest.
      const code = errorCode(error);
      if (code === '22003' || code === '23514') throw new UnrepresentableWeightsError('adjustment');
      throw error;
    }
  }

  async remove(sensor: Sensor, metric: MetricName): Promise<RemovedModel | undefined> {
    const rows = await storage(() =>
      this.transaction(async (client) => {
        // The row lock first, in a statement of its own: it waits out a batch of live readings
        // stepping this model's state (which holds the row shared), so that REMOVE, whose
        // snapshot starts after, sees and forgets the state that batch wrote, even a new one.
        await client.query(LOCK_MODELS, [[sensor.id], [metric.name]]);
        return (await client.query<RemovedRow>(REMOVE, [sensor.id, metric.name])).rows;
      }),
    );
    const row = rows[0];
    if (!row) return undefined;
    return row.alert_status === 'raised' ? { ...toSensorWeights(row), raisedAlert: { lastValue: row.alert_last_value!, threshold: row.alert_threshold! } } : toSensorWeights(row);
  }

  async history(sensor: Sensor, metric: MetricName, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<WeightsRevision[]> {
    const { rows } = await storage(() =>
      this.reads.query<RevisionRow>(
        `SELECT version, change, mean, std, n, adjustment, moments, recorded_at FROM weights_history
         WHERE sensor_id = $1 AND metric = $2 AND version < $4 ORDER BY id DESC LIMIT $3`,
        [sensor.id, metric.name, limit, before],
      ),
    );
    return rows.map((row) => ({
      version: row.version,
      change: row.change,
      weights: toWeights(row),
      recordedAt: row.recorded_at,
    }));
  }

  async ping(): Promise<void> {
    await storage(() => this.reads.query('SELECT 1'));
  }

  private transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}

/** Ids and metric names are ASCII: UTF-16 order is byte order, as COLLATE "C" sorts them. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The models in byte order of (sensor id, metric); stable: a model named twice keeps its order. */
function inByteOrder<T extends ModelKey>(models: readonly T[]): T[] {
  return [...models].sort((a, b) => compareBytes(a.sensor.id, b.sensor.id) || compareBytes(a.metric.name, b.metric.name));
}

/** Splits the batch so no chunk names a model twice: one upsert cannot touch a row twice. */
function* chunks<T extends FittedModel>(models: readonly T[]): Generator<T[]> {
  let chunk: T[] = [];
  let keys = new Set<string>();
  for (const model of models) {
    const key = modelKey(model.sensor.id, model.metric.name);
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

function columns(models: readonly FittedModel[]): [string[], string[], number[], number[], number[], number[], string[]] {
  return [
    models.map((model) => model.sensor.id),
    models.map((model) => model.metric.name),
    models.map((model) => model.weights.mean),
    models.map((model) => model.weights.std),
    models.map((model) => model.weights.n),
    models.map((model) => model.weights.adjustment),
    models.map((model) => JSON.stringify(model.weights.learned)),
  ];
}

function toWeights(row: Pick<WeightsRow, 'mean' | 'std' | 'n' | 'adjustment' | 'moments'>): Weights {
  const { moments } = row;
  // Parsed only when merged into: a prediction reads mean and std alone.
  return Weights.restore(row.mean, row.std, row.n, row.adjustment, () => (moments === null ? undefined : (JSON.parse(moments) as Moments)));
}

function toSensorWeights(row: WeightsRow): SensorWeights {
  return {
    sensorId: row.sensor_id,
    metric: row.metric,
    weights: toWeights(row),
    version: row.version,
    updatedAt: row.updated_at,
  };
}
