import type { Pool, PoolClient } from 'pg';
import type { ActiveAlert, AlertStateRepository, ScoredReading, StoredAlertState } from '../../application/ports/alert-state.repository';
import type { ModelKey } from '../../application/ports/weights.repository';
import type { AlertDebounce, AlertStatus } from '../../domain/alert-debounce';
import type { Sensor } from '../../domain/sensor';
import { stepAlertStates, type AlertStateWrite, type KeptAlertState } from '../alert-states/step-alert-states';
import { served } from './postgres-errors';
import { inTransaction } from './postgres-transaction';
import { modelKey } from '../../domain/identifier-rule';

interface StateRow {
  sensor_id: string;
  metric: string;
  status: AlertStatus;
  pending: number;
  since: Date | null;
  last_value: number;
  threshold: number;
  last_at: Date;
}

// The batch's models, locked until it commits, in byte order: concurrent batches over
// overlapping models (this replica's or another's) take their locks in the same order, so
// they queue instead of deadlocking; the second reads what the first wrote.
const LOCK_STATES = `
  SELECT s.* FROM unnest($1::text[], $2::text[]) AS k(sensor_id, metric)
  JOIN alert_states s ON s.sensor_id = k.sensor_id COLLATE "C" AND s.metric = k.metric COLLATE "C"
  ORDER BY s.sensor_id, s.metric
  FOR UPDATE OF s`;

// The batch's models that a deletion marked, read under a share lock on their weights rows,
// taken in byte order before the states' locks (as every writer of several models takes
// them: no deadlock). A deletion under way holds its row: this waits for it and sees it.
// Rows of models stored are locked too, so that none is deleted until this batch commits:
// the deletion then finds (and forgets, publishing it cleared) the state this batch wrote.
const LOCK_MODELS = `
  SELECT w.sensor_id, w.metric, w.deleted FROM unnest($1::text[], $2::text[]) AS k(sensor_id, metric)
  JOIN weights w ON w.sensor_id = k.sensor_id COLLATE "C" AND w.metric = k.metric COLLATE "C"
  ORDER BY w.sensor_id, w.metric
  FOR SHARE OF w`;

const STATE_COLUMNS = `unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::float8[], $7::float8[], $8::timestamptz[])
  AS u(sensor_id, metric, status, pending, since, last_value, threshold, last_at)`;

// A model without a row has nothing to lock: its first state is inserted, and a row another
// transaction inserted meanwhile makes the insert skip it (then the batch starts over and
// locks that row). Inserted in byte order, so two batches creating the same rows queue.
const INSERT_STATES = `
  INSERT INTO alert_states (sensor_id, metric, status, pending, since, last_value, threshold, last_at)
  SELECT * FROM ${STATE_COLUMNS} ORDER BY u.sensor_id COLLATE "C", u.metric COLLATE "C"
  ON CONFLICT (sensor_id, metric) DO NOTHING
  RETURNING sensor_id`;

const UPDATE_STATES = `
  UPDATE alert_states s SET
    status = u.status, pending = u.pending, since = u.since, last_value = u.last_value, threshold = u.threshold, last_at = u.last_at
  FROM ${STATE_COLUMNS}
  WHERE s.sensor_id = u.sensor_id COLLATE "C" AND s.metric = u.metric COLLATE "C"`;

const SELECT_ACTIVE = "SELECT sensor_id, metric, since, last_value, threshold FROM alert_states WHERE status = 'raised' ORDER BY sensor_id, metric";

const SELECT_RAISED = `
  SELECT sensor_id, metric, status, last_value, threshold, last_at FROM alert_states
  WHERE status = 'raised' AND sensor_id COLLATE "C" = ANY($1::text[])`;

const SELECT_STATES = `
  SELECT s.sensor_id, s.metric, s.status, s.last_value, s.threshold, s.last_at FROM unnest($1::text[], $2::text[]) AS k(sensor_id, metric)
  JOIN alert_states s ON s.sensor_id = k.sensor_id COLLATE "C" AND s.metric = k.metric COLLATE "C"`;

/** How often a batch that raced another's creation of the same new state starts over. */
const ADVANCE_ATTEMPTS = 10;

/** Another transaction created a state this one found absent: start over, its row is there to lock now. */
class StateCreatedMeanwhile extends Error {}

/** Alert states in the weights database (table alert_states, schema 3). */
export class PostgresAlertStateRepository implements AlertStateRepository {
  /** Batches use `pool`; GET /alerts/active's listing `reads` (see PostgresWeightsRepository). */
  constructor(
    private readonly pool: Pool,
    private readonly reads: Pool = pool,
  ) {}

  async advance(readings: readonly ScoredReading[], debounce: AlertDebounce): Promise<(AlertStatus | undefined)[]> {
    if (readings.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        return await served(() => inTransaction(this.pool, (client) => this.advanceWith(client, readings, debounce)));
      } catch (error) {
        if (!(error instanceof StateCreatedMeanwhile) || attempt === ADVANCE_ATTEMPTS) throw error;
      }
    }
  }

  async listActive(): Promise<ActiveAlert[]> {
    const { rows } = await served(() => this.reads.query<StateRow>(SELECT_ACTIVE));
    return rows.map((row) => ({ sensorId: row.sensor_id, metric: row.metric, since: row.since!, lastValue: row.last_value, threshold: row.threshold }));
  }

  async findMany(models: readonly ModelKey[]): Promise<StoredAlertState[]> {
    if (models.length === 0) return [];
    const { rows } = await served(() => this.reads.query<StateRow>(SELECT_STATES, [models.map(({ sensor }) => sensor.id), models.map(({ metric }) => metric.name)]));
    return rows.map((row) => ({ sensorId: row.sensor_id, metric: row.metric, status: row.status, lastValue: row.last_value, threshold: row.threshold, lastAt: row.last_at }));
  }

  async findRaised(sensors: readonly Sensor[]): Promise<StoredAlertState[]> {
    if (sensors.length === 0) return [];
    const { rows } = await served(() => this.reads.query<StateRow>(SELECT_RAISED, [sensors.map((sensor) => sensor.id)]));
    return rows.map((row) => ({ sensorId: row.sensor_id, metric: row.metric, status: row.status, lastValue: row.last_value, threshold: row.threshold, lastAt: row.last_at }));
  }

  private async advanceWith(client: PoolClient, readings: readonly ScoredReading[], debounce: AlertDebounce): Promise<(AlertStatus | undefined)[]> {
    const keys = new Map<string, [string, string]>();
    for (const { sensor, metric } of readings) keys.set(modelKey(sensor.id, metric.name), [sensor.id, metric.name]);
    const keyColumns = [[...keys.values()].map(([id]) => id), [...keys.values()].map(([, metric]) => metric)];
    const { rows: models } = await client.query<{ sensor_id: string; metric: string; deleted: boolean }>(LOCK_MODELS, keyColumns);
    const deleted = new Set(models.filter((model) => model.deleted).map((model) => modelKey(model.sensor_id, model.metric)));
    const { rows } = await client.query<StateRow>(LOCK_STATES, keyColumns);
    const stored = new Map(rows.map((row) => [modelKey(row.sensor_id, row.metric), toKept(row)]));
    const { transitions, writes } = stepAlertStates(
      readings,
      debounce,
      (sensorId, metric) => stored.get(modelKey(sensorId, metric)),
      (sensorId, metric) => deleted.has(modelKey(sensorId, metric)),
    );
    const created = writes.filter((write) => !write.stored);
    const updated = writes.filter((write) => write.stored);
    if (created.length > 0) {
      const { rowCount } = await client.query(INSERT_STATES, columns(created));
      if (rowCount !== created.length) throw new StateCreatedMeanwhile();
    }
    if (updated.length > 0) await client.query(UPDATE_STATES, columns(updated));
    return transitions;
  }
}

function columns(writes: readonly AlertStateWrite[]): unknown[] {
  return [
    writes.map((write) => write.sensorId),
    writes.map((write) => write.metric),
    writes.map((write) => write.state.status),
    writes.map((write) => write.state.pending),
    writes.map((write) => write.state.since ?? null),
    writes.map((write) => write.state.lastValue),
    writes.map((write) => write.state.threshold),
    writes.map((write) => write.state.lastAt),
  ];
}

function toKept(row: StateRow): KeptAlertState {
  return {
    status: row.status,
    pending: row.pending,
    since: row.since ?? undefined,
    lastValue: row.last_value,
    threshold: row.threshold,
    lastAt: row.last_at,
  };
}
