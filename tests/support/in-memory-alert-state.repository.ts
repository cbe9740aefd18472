import type { ActiveAlert, AlertStateRepository, ScoredReading, StoredAlertState } from '../../src/application/ports/alert-state.repository';
import type { ModelKey } from '../../src/application/ports/weights.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import { AlertDebounce, type AlertState, type AlertStatus } from '../../src/domain/alert-debounce';
import { modelKey } from '../../src/domain/identifier-rule';
import type { Sensor } from '../../src/domain/sensor';

interface Kept extends AlertState {
  readonly lastValue: number;
  readonly threshold: number;
  readonly lastAt: Date;
}

/** A map-backed stand-in for the port, for use-case unit tests. `reachable = false` fails every call as unreachable storage does. */
export class InMemoryAlertStateRepository implements AlertStateRepository {
  private readonly states = new Map<string, Kept & { sensorId: string; metric: string }>();
  // Models deleted (forgotten) and not stored since: their readings step nothing, as in the real stores.
  private readonly deletedModels = new Set<string>();
  reachable = true;

  async advance(readings: readonly ScoredReading[], debounce: AlertDebounce): Promise<(AlertStatus | undefined)[]> {
    this.serving();
    // All or nothing: work on a copy, commit it at the end.
    const next = new Map(this.states);
    const transitions = readings.map(({ sensor, metric, value, at, inAlert, threshold }) => {
      const key = modelKey(sensor.id, metric.name);
      if (this.deletedModels.has(key)) return undefined;
      const step = debounce.next(next.get(key) ?? AlertDebounce.INITIAL, inAlert, at);
      next.set(key, { ...step.state, lastValue: value, threshold, lastAt: at, sensorId: sensor.id, metric: metric.name });
      return step.transition;
    });
    this.states.clear();
    for (const [key, state] of next) this.states.set(key, state);
    return transitions;
  }

  async listActive(): Promise<ActiveAlert[]> {
    this.serving();
    return [...this.states.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([, { status, since, lastValue, threshold, sensorId, metric }]) =>
        status === 'raised' ? [{ sensorId, metric, since: since!, lastValue, threshold }] : [],
      );
  }

  async findMany(models: readonly ModelKey[]): Promise<StoredAlertState[]> {
    this.serving();
    return models.flatMap(({ sensor, metric }) => {
      const kept = this.states.get(modelKey(sensor.id, metric.name));
      return kept ? [{ sensorId: kept.sensorId, metric: kept.metric, status: kept.status, lastValue: kept.lastValue, threshold: kept.threshold, lastAt: kept.lastAt }] : [];
    });
  }

  async findRaised(sensors: readonly Sensor[]): Promise<StoredAlertState[]> {
    this.serving();
    const ids = new Set(sensors.map((sensor) => sensor.id));
    return [...this.states.values()].flatMap((kept) =>
      kept.status === 'raised' && ids.has(kept.sensorId)
        ? [{ sensorId: kept.sensorId, metric: kept.metric, status: kept.status, lastValue: kept.lastValue, threshold: kept.threshold, lastAt: kept.lastAt }]
        : [],
    );
  }

  /** Forgets a deleted model's state, as the weights repository's remove() does; answers the state it held. */
  forget(sensorId: string, metric: string): Kept | undefined {
    const key = modelKey(sensorId, metric);
    const state = this.states.get(key);
    this.states.delete(key);
    this.deletedModels.add(key);
    return state;
  }

  /** The weights repository stored the model (again): its readings step states. */
  modelStored(sensorId: string, metric: string): void {
    this.deletedModels.delete(modelKey(sensorId, metric));
  }

  private serving(): void {
    if (!this.reachable) throw new StorageUnavailableError('in-memory alert states set unreachable');
  }
}
