import type Database from 'better-sqlite3';
import { statSync, type Stats } from 'node:fs';
import type { FittedModel, ModelKey, ModelReadings, RemovedModel, WeightsRepository } from '../../application/ports/weights.repository';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import type { MetricName } from '../../domain/metric-name';
import type { Moments } from '../../domain/readings-accumulator';
import type { Sensor } from '../../domain/sensor';
import type { SensorWeights } from '../../domain/sensor-weights';
import { RevisionNotFoundError, UnrepresentableWeightsError } from '../../domain/domain-errors';
import { ReadingsAccumulator } from '../../domain/readings-accumulator';
import { Weights } from '../../domain/weights';
import { REPLACING_CHANGES, type WeightsChange, type WeightsRevision } from '../../domain/weights-revision';
import { errorCode, errorMessage } from '../error-shape';
import { sqlList } from '../sql-literals';
import { asStorageFault, available } from './sqlite-availability';

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
  updated_at: string;
  /** 1 once deleted: the row stays, so that the model's versions go on counting. */
  deleted: 0 | 1;
}

/** The alert state a deletion forgot. */
interface ForgottenAlertRow {
  status: 'raised' | 'cleared';
  last_value: number;
  threshold: number;
}

interface RevisionRow {
  version: number;
  change: WeightsChange;
  mean: number;
  std: number;
  n: number;
  adjustment: number;
  moments: string | null;
  recorded_at: string;
}

export class SqliteWeightsRepository implements WeightsRepository {
  private readonly upsertWeights: Database.Statement<[string, string, number, number, number, number, string, string], WeightsRow>;
  private readonly selectWeights: Database.Statement<[string, string], WeightsRow>;
  private readonly selectAllWeights: Database.Statement<[], WeightsRow>;
  private readonly selectSensorWeights: Database.Statement<[string], WeightsRow>;
  private readonly selectWeightsPage: Database.Statement<[string, string, number], WeightsRow>;
  private readonly selectStoredEver: Database.Statement<[string, string], { stored: 1 }>;
  private readonly markDeleted: Database.Statement<[string, string, string], WeightsRow>;
  private readonly forgetAlertState: Database.Statement<[string, string], ForgottenAlertRow>;
  private readonly scaleWeightsMean: Database.Statement<[number, number, string, string, string], WeightsRow>;
  private readonly insertRevision: Database.Statement<[string, string, number, WeightsChange, number, number, number, number, string | null, string]>;
  private readonly selectRevisions: Database.Statement<[string, string, number, number], RevisionRow>;
  private readonly selectRevision: Database.Statement<[string, string, number], RevisionRow>;
  private readonly selectOne: Database.Statement<[], unknown>;
  private readonly replaceTransaction: Database.Transaction<(sensorId: string, metric: string, weights: Weights) => WeightsRow>;
  private readonly replaceAllTransaction: Database.Transaction<(models: readonly FittedModel[]) => void>;
  private readonly findManyTransaction: Database.Transaction<(keys: readonly ModelKey[]) => WeightsRow[]>;
  private readonly scaleMeanTransaction: Database.Transaction<
    (sensorId: string, metric: string, factor: number) => WeightsRow | undefined
  >;
  private readonly mergeAllTransaction: Database.Transaction<(models: readonly ModelReadings[]) => Array<WeightsRow | undefined>>;
  private readonly selectReplacedSince: Database.Statement<[string, string, number], { replaced: 1 }>;
  private readonly rollbackTransaction: Database.Transaction<(sensorId: string, metric: string, version: number) => WeightsRow | undefined>;
  private readonly removeTransaction: Database.Transaction<(sensorId: string, metric: string) => RemovedModel | undefined>;

  /** The file this connection writes to, as opened: writes are refused once DB_PATH names another file, or none. */
  private readonly file: Pick<Stats, 'dev' | 'ino'> | undefined;
  private fileLost = false;

  /**
   * `busyTimeoutMs`: how long a write retries, without blocking, while another connection
   * holds the write lock. `onFileLost` is told once, when the database file turns out to
   * have been deleted or replaced.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs = 5000,
    private readonly onFileLost: (path: string) => void = () => undefined,
  ) {
    this.file = db.memory ? undefined : statSync(db.name);
    this.upsertWeights = db.prepare(`
      INSERT INTO weights (sensor_id, metric, mean, std, n, adjustment, moments, version, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
      ON CONFLICT (sensor_id, metric) DO UPDATE SET
        mean = excluded.mean, std = excluded.std, n = excluded.n, adjustment = excluded.adjustment, moments = excluded.moments,
        version = weights.version + 1, updated_at = excluded.updated_at, deleted = 0
      RETURNING *`);
    this.selectWeights = db.prepare('SELECT * FROM weights WHERE sensor_id = ? AND metric = ? AND deleted = 0');
    this.selectAllWeights = db.prepare('SELECT * FROM weights WHERE deleted = 0 ORDER BY sensor_id, metric');
    // Row values compare column by column, BINARY collation: list()'s byte order, from the primary key.
    this.selectWeightsPage = db.prepare('SELECT * FROM weights WHERE deleted = 0 AND (sensor_id, metric) > (?, ?) ORDER BY sensor_id, metric LIMIT ?');
    this.selectSensorWeights = db.prepare('SELECT * FROM weights WHERE sensor_id = ? AND deleted = 0 ORDER BY metric');
    this.selectStoredEver = db.prepare('SELECT 1 AS stored FROM weights WHERE sensor_id = ? AND metric = ?');
    // The adjust rule (factor ADJUST_MEAN_FACTOR, src/domain/adjust-rule.ts) applied in one
    // statement that reads and writes the mean, so concurrent adjusts never lose an update.
    this.scaleWeightsMean = db.prepare(`
      UPDATE weights SET mean = mean * ?, adjustment = adjustment * ?, version = version + 1, updated_at = ?
      WHERE sensor_id = ? AND metric = ? AND deleted = 0
      RETURNING *`);
    this.markDeleted = db.prepare(`
      UPDATE weights SET deleted = 1, version = version + 1, updated_at = ?
      WHERE sensor_id = ? AND metric = ? AND deleted = 0
      RETURNING *`);
    this.forgetAlertState = db.prepare('DELETE FROM alert_states WHERE sensor_id = ? AND metric = ? RETURNING status, last_value, threshold');
    this.selectReplacedSince = db.prepare(`
      SELECT 1 AS replaced FROM weights_history
      WHERE sensor_id = ? AND metric = ? AND version > ? AND change IN (${sqlList(REPLACING_CHANGES)}) LIMIT 1`);
    this.insertRevision = db.prepare(`
      INSERT INTO weights_history (sensor_id, metric, version, change, mean, std, n, adjustment, moments, recorded_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.selectRevisions = db.prepare(`
      SELECT version, change, mean, std, n, adjustment, moments, recorded_at FROM weights_history
      WHERE sensor_id = ? AND metric = ? AND version < ? ORDER BY id DESC LIMIT ?`);
    this.selectRevision = db.prepare(`
      SELECT version, change, mean, std, n, adjustment, moments, recorded_at FROM weights_history
      WHERE sensor_id = ? AND metric = ? AND version = ? ORDER BY id DESC LIMIT 1`);
    this.selectOne = db.prepare('SELECT 1');

    const writeOne = (sensorId: string, metric: string, weights: Weights, change: WeightsChange, at: string): WeightsRow => {
      const { mean, std, n, adjustment, learned } = weights;
      const row = this.upsertWeights.get(sensorId, metric, mean, std, n, adjustment, JSON.stringify(learned), at)!;
      this.appendRevision(row, change);
      return row;
    };
    const replaceOne = (sensorId: string, metric: string, weights: Weights, at: string): WeightsRow => writeOne(sensorId, metric, weights, 'fit', at);
    // Read, merge and write inside one IMMEDIATE transaction: the write lock is held from the
    // read on, so no other connection (or process) writes between them.
    const mergeOne = ({ sensor, metric, readings, scoredVersion }: ModelReadings, at: string): WeightsRow | undefined => {
      const row = this.selectWeights.get(sensor.id, metric.name);
      if (scoredVersion !== undefined && (!row || this.selectReplacedSince.get(sensor.id, metric.name, scoredVersion))) return undefined;
      const weights = row ? toWeights(row).merged(readings) : Weights.fromAccumulator(ReadingsAccumulator.fromMoments(readings));
      return writeOne(sensor.id, metric.name, weights, 'update', at);
    };
    this.mergeAllTransaction = db.transaction((models: readonly ModelReadings[]) => {
      const at = now();
      return models.map((model) => mergeOne(model, at));
    });
    this.rollbackTransaction = db.transaction((sensorId: string, metric: string, version: number) => {
      if (!this.selectStoredEver.get(sensorId, metric)) return undefined;
      const revision = this.selectRevision.get(sensorId, metric, version);
      if (!revision) throw new RevisionNotFoundError(sensorId, metric, version);
      return writeOne(sensorId, metric, toWeights(revision), 'rollback', now());
    });
    this.replaceTransaction = db.transaction((sensorId: string, metric: string, weights: Weights) =>
      replaceOne(sensorId, metric, weights, now()),
    );
    this.replaceAllTransaction = db.transaction((models: readonly FittedModel[]) => {
      const at = now();
      for (const { sensor, metric, weights } of models) replaceOne(sensor.id, metric.name, weights, at);
    });
    // One read transaction: every model as of the same commit, and one lock instead of one per key.
    this.findManyTransaction = db.transaction((keys: readonly ModelKey[]) =>
      keys.flatMap(({ sensor, metric }) => this.selectWeights.get(sensor.id, metric.name) ?? []),
    );
    this.removeTransaction = db.transaction((sensorId: string, metric: string) => {
      const row = this.markDeleted.get(now(), sensorId, metric);
      if (!row) return undefined;
      this.appendRevision(row, 'delete');
      const forgotten = this.forgetAlertState.get(sensorId, metric);
      return forgotten?.status === 'raised' ? { ...toSensorWeights(row), raisedAlert: { lastValue: forgotten.last_value, threshold: forgotten.threshold } } : toSensorWeights(row);
    });
    this.scaleMeanTransaction = db.transaction((sensorId: string, metric: string, factor: number) => {
      const row = this.scaleWeightsMean.get(factor, factor, now(), sensorId, metric);
      if (row) this.appendRevision(row, 'adjust');
      return row;
    });
  }

  async replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights> {
    // IMMEDIATE takes the write lock up front: no lock upgrade to deadlock on across processes.
    return toSensorWeights(await this.writing(() => this.replaceTransaction.immediate(sensor.id, metric.name, weights)));
  }

  async replaceAll(models: readonly FittedModel[]): Promise<void> {
    await this.writing(() => this.replaceAllTransaction.immediate(models));
  }

  async merge(sensor: Sensor, metric: MetricName, readings: Moments): Promise<SensorWeights> {
    const [row] = await this.writing(() => this.mergeAllTransaction.immediate([{ sensor, metric, readings }]));
    return toSensorWeights(row!);
  }

  async mergeAll(models: readonly ModelReadings[]): Promise<void> {
    if (models.length === 0) return;
    await this.writing(() => this.mergeAllTransaction.immediate(models));
  }

  async rollback(sensor: Sensor, metric: MetricName, version: number): Promise<SensorWeights | undefined> {
    const row = await this.writing(() => this.rollbackTransaction.immediate(sensor.id, metric.name, version));
    return row && toSensorWeights(row);
  }

  async remove(sensor: Sensor, metric: MetricName): Promise<RemovedModel | undefined> {
    return this.writing(() => this.removeTransaction.immediate(sensor.id, metric.name));
  }

  async find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined> {
    const row = available(() => this.selectWeights.get(sensor.id, metric.name));
    return row && toSensorWeights(row);
  }

  async findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]> {
    return available(() => this.findManyTransaction.deferred(keys)).map(toSensorWeights);
  }

  async list(sensor?: Sensor): Promise<SensorWeights[]> {
    const rows = available(() => (sensor ? this.selectSensorWeights.all(sensor.id) : this.selectAllWeights.all()));
    return rows.map(toSensorWeights);
  }

  async listPage(limit: number, after?: { readonly sensorId: string; readonly metric: string }): Promise<SensorWeights[]> {
    // ('', ''): before every model (ids are never empty).
    return available(() => this.selectWeightsPage.all(after?.sensorId ?? '', after?.metric ?? '', limit)).map(toSensorWeights);
  }

  async scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    try {
      const row = await this.writing(() => this.scaleMeanTransaction.immediate(sensor.id, metric.name, factor));
      return row && toSensorWeights(row);
    } catch (error) {
      // The table's CHECK refuses a mean that overflowed to +-Infinity.
      if (errorCode(error) === 'SQLITE_CONSTRAINT_CHECK') throw new UnrepresentableWeightsError('adjustment');
      throw error;
    }
  }

  async history(sensor: Sensor, metric: MetricName, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<WeightsRevision[]> {
    return available(() => this.selectRevisions.all(sensor.id, metric.name, before, limit)).map((row) => ({
      version: row.version,
      change: row.change,
      weights: toWeights(row),
      recordedAt: new Date(row.recorded_at),
    }));
  }

  async ping(): Promise<void> {
    this.assertFileInPlace();
    try {
      this.selectOne.get();
    } catch (error) {
      // Whatever stops a trivial query (a closed handle, a vanished file) means storage is not serving.
      throw new StorageUnavailableError(errorMessage(error), { cause: error });
    }
  }

  /**
   * SQLite keeps writing to a deleted (or replaced) file through its open descriptor, and
   * all of it is gone at the next start: refuse writes rather than acknowledge them. One
   * stat per write and per health check; once lost, the file stays lost for this process.
   * Public for the other writers of the same file (the alert states), which refuse alike.
   */
  assertFileInPlace(): void {
    if (!this.file) return;
    if (!this.fileLost) {
      const now = statSync(this.db.name, { throwIfNoEntry: false });
      if (now && now.ino === this.file.ino && now.dev === this.file.dev) return;
      this.fileLost = true;
      this.onFileLost(this.db.name);
    }
    throw new StorageUnavailableError('its file was deleted or replaced while the service ran; restart the service', { retryable: false });
  }

  /**
   * Runs a write, retrying it while another connection holds the write lock (SQLITE_BUSY
   * comes at once, as busy_timeout is 0) with growing pauses, up to busyTimeoutMs: other
   * requests are served meanwhile. A database that cannot take it becomes a
   * StorageUnavailableError.
   */
  private async writing<T>(write: () => T): Promise<T> {
    this.assertFileInPlace();
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, MAX_RETRY_PAUSE_MS)) {
      try {
        const written = write();
        // Deleted while this write ran: it went to a file no restart will find.
        this.assertFileInPlace();
        return written;
      } catch (error) {
        if (error instanceof StorageUnavailableError) throw error;
        const code = errorCode(error);
        const left = deadline - Date.now();
        if (code === 'SQLITE_BUSY' && left > 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, left)));
          continue;
        }
        throw asStorageFault(error);
      }
    }
  }

  private appendRevision(row: WeightsRow, change: WeightsChange): void {
    this.insertRevision.run(row.sensor_id, row.metric, row.version, change, row.mean, row.std, row.n, row.adjustment, row.moments, row.updated_at);
  }
}


// Short enough that a write follows a released lock closely, long enough to cost nothing.
const MAX_RETRY_PAUSE_MS = 25;

function now(): string {
  return new Date().toISOString();
}

function toSensorWeights(row: WeightsRow): SensorWeights {
  return {
    sensorId: row.sensor_id,
    metric: row.metric,
    weights: toWeights(row),
    version: row.version,
    updatedAt: new Date(row.updated_at),
  };
}

function toWeights(row: Pick<WeightsRow, 'mean' | 'std' | 'n' | 'adjustment' | 'moments'>): Weights {
  const { moments } = row;
  // Parsed only when merged into: a prediction reads mean and std alone.
  return Weights.restore(row.mean, row.std, row.n, row.adjustment, () => (moments === null ? undefined : (JSON.parse(moments) as Moments)));
}
