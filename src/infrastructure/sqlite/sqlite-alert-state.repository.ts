import type Database from 'better-sqlite3';
import type { ActiveAlert, AlertStateRepository, ScoredReading, StoredAlertState } from '../../application/ports/alert-state.repository';
import type { ModelKey } from '../../application/ports/weights.repository';
import type { AlertDebounce, AlertStatus } from '../../domain/alert-debounce';
import type { Sensor } from '../../domain/sensor';
import { stepAlertStates, type KeptAlertState } from '../alert-states/step-alert-states';
import { available, writeWhenFree } from './sqlite-availability';

interface StateRow {
  status: AlertStatus;
  pending: number;
  since: number | null;
  last_value: number;
  threshold: number;
  last_at: number;
}

interface ActiveRow {
  sensor_id: string;
  metric: string;
  since: number;
  last_value: number;
  threshold: number;
}

/** Alert states in the weights database file (table alert_states, schema 3). */
export class SqliteAlertStateRepository implements AlertStateRepository {
  private readonly selectState: Database.Statement<[string, string], StateRow>;
  private readonly selectDeleted: Database.Statement<[string, string], { deleted: 1 }>;
  private readonly upsertState: Database.Statement<[string, string, AlertStatus, number, number | null, number, number, number]>;
  private readonly selectActive: Database.Statement<[], ActiveRow>;
  private readonly selectRaised: Database.Statement<[string], Pick<StateRow, 'status' | 'last_value' | 'threshold' | 'last_at'> & { metric: string }>;
  private readonly advanceTransaction: Database.Transaction<(readings: readonly ScoredReading[], debounce: AlertDebounce) => (AlertStatus | undefined)[]>;

  /**
   * `busyTimeoutMs`: how long a batch retries, without blocking, while another connection
   * holds the write lock. `assertFileInPlace` throws StorageUnavailableError once the file was
   * deleted or replaced (SqliteWeightsRepository's check): a state written then would be gone
   * at the next start, and the raise repeated.
   */
  constructor(
    db: Database.Database,
    private readonly busyTimeoutMs = 5000,
    private readonly assertFileInPlace: () => void = () => undefined,
  ) {
    this.selectState = db.prepare('SELECT status, pending, since, last_value, threshold, last_at FROM alert_states WHERE sensor_id = ? AND metric = ?');
    this.upsertState = db.prepare(`
      INSERT INTO alert_states (sensor_id, metric, status, pending, since, last_value, threshold, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (sensor_id, metric) DO UPDATE SET
        status = excluded.status, pending = excluded.pending, since = excluded.since,
        last_value = excluded.last_value, threshold = excluded.threshold, last_at = excluded.last_at`);
    this.selectRaised = db.prepare("SELECT metric, status, last_value, threshold, last_at FROM alert_states WHERE sensor_id = ? AND status = 'raised'");
    this.selectActive = db.prepare("SELECT sensor_id, metric, since, last_value, threshold FROM alert_states WHERE status = 'raised' ORDER BY sensor_id, metric");
    this.selectDeleted = db.prepare('SELECT 1 AS deleted FROM weights WHERE sensor_id = ? AND metric = ? AND deleted = 1');
    this.advanceTransaction = db.transaction((readings: readonly ScoredReading[], debounce: AlertDebounce) => {
      const { transitions, writes } = stepAlertStates(
        readings,
        debounce,
        (sensorId, metric) => {
          const row = this.selectState.get(sensorId, metric);
          return row && toKept(row);
        },
        (sensorId, metric) => this.selectDeleted.get(sensorId, metric) !== undefined,
      );
      for (const { sensorId, metric, state } of writes) {
        this.upsertState.run(sensorId, metric, state.status, state.pending, state.since?.getTime() ?? null, state.lastValue, state.threshold, state.lastAt.getTime());
      }
      return transitions;
    });
  }

  async advance(readings: readonly ScoredReading[], debounce: AlertDebounce): Promise<(AlertStatus | undefined)[]> {
    if (readings.length === 0) return [];
    // IMMEDIATE: the write lock is held from the first read on, across processes, so no other
    // connection steps these states between our read and our write; it decides alone.
    this.assertFileInPlace();
    const transitions = await writeWhenFree(() => this.advanceTransaction.immediate(readings, debounce), this.busyTimeoutMs);
    // Deleted while this batch ran: it went to a file no restart will find.
    this.assertFileInPlace();
    return transitions;
  }

  async listActive(): Promise<ActiveAlert[]> {
    return available(() => this.selectActive.all()).map((row) => ({
      sensorId: row.sensor_id,
      metric: row.metric,
      since: new Date(row.since),
      lastValue: row.last_value,
      threshold: row.threshold,
    }));
  }

  async findMany(models: readonly ModelKey[]): Promise<StoredAlertState[]> {
    return available(() =>
      models.flatMap(({ sensor, metric }) => {
        const row = this.selectState.get(sensor.id, metric.name);
        return row ? [{ sensorId: sensor.id, metric: metric.name, status: row.status, lastValue: row.last_value, threshold: row.threshold, lastAt: new Date(row.last_at) }] : [];
      }),
    );
  }

  async findRaised(sensors: readonly Sensor[]): Promise<StoredAlertState[]> {
    return available(() =>
      sensors.flatMap((sensor) =>
        this.selectRaised.all(sensor.id).map((row) => ({ sensorId: sensor.id, metric: row.metric, status: row.status, lastValue: row.last_value, threshold: row.threshold, lastAt: new Date(row.last_at) })),
      ),
    );
  }
}

function toKept(row: StateRow): KeptAlertState {
  return {
    status: row.status,
    pending: row.pending,
    since: row.since === null ? undefined : new Date(row.since),
    lastValue: row.last_value,
    threshold: row.threshold,
    lastAt: new Date(row.last_at),
  };
}
