import type { MetricName } from '../../domain/metric-name';
import type { Sensor } from '../../domain/sensor';
import type { SensorWeights } from '../../domain/sensor-weights';
import type { Weights } from '../../domain/weights';
import type { WeightsRevision } from '../../domain/weights-revision';

export const WEIGHTS_REPOSITORY = Symbol('WeightsRepository');

/** Which model: a sensor's, for one metric. */
export interface ModelKey {
  readonly sensor: Sensor;
  readonly metric: MetricName;
}

export interface FittedModel extends ModelKey {
  readonly weights: Weights;
}

/**
 * Where models live. Every successful write also appends one history revision in the
 * same transaction, and stamps `updatedAt`/`version`.
 */
export interface WeightsRepository {
  /** Stores a freshly fitted model, replacing any previous one. */
  replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights>;

  /** Stores many freshly fitted models in one transaction: all of them, or none. */
  replaceAll(models: readonly FittedModel[]): Promise<void>;

  find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined>;

  /** The stored models among `keys`, read together as of one moment; absent ones are left out. */
  findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]>;

  /** Every stored model (of one sensor, if given), ordered by sensor id then metric. */
  list(sensor?: Sensor): Promise<SensorWeights[]>;

  /** Multiplies the stored mean by `factor` atomically; undefined when there is no model. */
  scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined>;

  /** Newest first, at most `limit` revisions. */
  history(sensor: Sensor, metric: MetricName, limit: number): Promise<WeightsRevision[]>;

  /** Resolves when storage answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
}
