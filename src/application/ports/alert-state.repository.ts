import type { AlertDebounce, AlertStatus } from '../../domain/alert-debounce';
import type { MetricName } from '../../domain/metric-name';
import type { Sensor } from '../../domain/sensor';
import type { ModelKey } from './weights.repository';

export const ALERT_STATE_REPOSITORY = Symbol('AlertStateRepository');

/** A reading scored against its model: `inAlert` is the policy's verdict at `threshold`. */
export interface ScoredReading {
  readonly sensor: Sensor;
  readonly metric: MetricName;
  readonly value: number;
  readonly at: Date;
  readonly inAlert: boolean;
  readonly threshold: number;
}

/** A raised alert, as listed by GET /alerts/active. */
export interface ActiveAlert {
  readonly sensorId: string;
  readonly metric: string;
  /** When it was raised. */
  readonly since: Date;
  /** The latest reading scored for the model, and the threshold it was scored against. */
  readonly lastValue: number;
  readonly threshold: number;
}

/**
 * A model's alert state as stored, with the latest reading written with it: the reading of its
 * latest change of state (a transition, or a step of the debounce count) or, while raised, the
 * latest reading scored.
 */
export interface StoredAlertState {
  readonly sensorId: string;
  readonly metric: string;
  readonly status: AlertStatus;
  readonly lastValue: number;
  /** The threshold `lastValue` was scored against. */
  readonly threshold: number;
  /** The time of `lastValue`. */
  readonly lastAt: Date;
}

/**
 * Where each model's alert state (AlertDebounce's AlertState, plus its latest reading) lives,
 * beside the weights (SQLite or PostgreSQL, migrated like them). A model with no stored
 * state is AlertDebounce.INITIAL (cleared).
 *
 * Failures: as WeightsRepository (StorageUnavailableError when the storage cannot serve now;
 * nothing written then).
 */
export interface AlertStateRepository {
  /**
   * Applies `debounce.next` to each reading's model state, in the order given (a model named
   * several times steps several times), and stores the results, all in one transaction that
   * holds those states against concurrent writers (other processes and replicas): two
   * replicas can never both decide the same transition. Answers, per reading and in order,
   * the transition it caused (undefined for none).
   *
   * A reading of a model deleted since it was scored (WeightsRepository.remove) steps
   * nothing and answers undefined: decided in the same transaction, against the deletion,
   * whose own transaction forgets the state. Else a batch scored just before a deletion
   * would store (and publish) a state for a model that no longer exists, raised for good.
   */
  advance(readings: readonly ScoredReading[], debounce: AlertDebounce): Promise<(AlertStatus | undefined)[]>;

  /** Every raised alert, ordered by sensor id then metric (byte order). */
  listActive(): Promise<ActiveAlert[]>;

  /** The stored states of those of `models` that have one, in no particular order (a model without one is cleared). */
  findMany(models: readonly ModelKey[]): Promise<StoredAlertState[]>;

  /** The raised states of every model of these sensors, in no particular order. */
  findRaised(sensors: readonly Sensor[]): Promise<StoredAlertState[]>;
}
