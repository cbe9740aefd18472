import type { MetricName } from '../../domain/metric-name';
import type { Moments } from '../../domain/readings-accumulator';
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

/** New readings of a model, as their sufficient statistics (ReadingsAccumulator.moments()). */
export interface ModelReadings extends ModelKey {
  readonly readings: Moments;
  /**
   * The version of the model the readings were scored against, for readings learned from
   * live ones: they are merged only into that model's line, and left out (nothing written)
   * when it has been deleted, refitted or rolled back since (a `delete`, `fit` or `rollback`
   * revision above this version), or was never stored. Updates and adjusts since are fine.
   */
  readonly scoredVersion?: number;
}

/** A model as remove() deleted it: the weights it had, with the deletion's version and time. */
export interface RemovedModel extends SensorWeights {
  /**
   * The model's alert, when it was raised at the instant of the deletion, as the forgotten
   * state held it: the latest reading scored and the threshold it was scored against.
   */
  readonly raisedAlert?: { readonly lastValue: number; readonly threshold: number };
}

/**
 * Where models live: the port every storage adapter (SQLite, PostgreSQL) and the tests'
 * in-memory fake implement. tests/integration/weights-repository.contract.test.ts checks
 * every clause below against all three.
 *
 * Writes: every successful write stamps the model with `updatedAt` (milliseconds, as a Date
 * holds them) and a `version` (1 for a new model, one more per write), and appends one
 * history revision with that version, change and weights, recorded at `updatedAt`, in the
 * same transaction. The history is append-only.
 *
 * Deletion: remove() takes a model out of every read (find, findMany, list, scaleMean's and
 * merge's view of it) and records change `delete`, but keeps its history and its version
 * count: a model stored again under the same key, or restored by rollback, continues from
 * the deletion's version, so a version names one revision for good.
 *
 * Failures: every method rejects with StorageUnavailableError when the storage cannot serve
 * it now (unreachable, locked, read-only, full, failing disk): a condition worth a 503 and a
 * retry. A write refused that way wrote nothing, except that a connection lost while a
 * commit was under way leaves the outcome unknown. Any other rejection is a fault, not a
 * refusal: a bug, or weights the domain would never build, which the storage refuses too.
 *
 * Order: ids and metric names compare byte by byte (they are ASCII), never by locale.
 */
export interface WeightsRepository {
  /** Stores a freshly fitted model, replacing any previous one (change `fit`); answers it as stored. */
  replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights>;

  /**
   * Stores many freshly fitted models in one transaction: all of them, or none. The whole
   * batch shares one `updatedAt`. A model named twice is written twice, in order: the last
   * weights win and its version rises by two. An empty batch writes nothing.
   */
  replaceAll(models: readonly FittedModel[]): Promise<void>;

  /**
   * Merges readings into the stored model (Weights.merged: as if they had been part of its
   * fit; the adjustment keeps applying), change `update`, reading and writing the model in
   * one transaction that holds it against concurrent writers (across processes and
   * replicas), so no update is lost. A model not stored yet is created from the readings
   * alone (Weights.fromAccumulator: two readings at least, else InsufficientReadingsError,
   * nothing written). Answers the model as stored.
   */
  merge(sensor: Sensor, metric: MetricName, readings: Moments): Promise<SensorWeights>;

  /**
   * merge() for many models in one transaction: all of them, or none (one refused model
   * refuses the batch). The batch shares one `updatedAt`. An empty batch writes nothing.
   * Concurrent batches over the same models each count in full. Entries with a
   * `scoredVersion` no longer valid are left out, never refusing the batch.
   */
  mergeAll(models: readonly ModelReadings[]): Promise<void>;

  /**
   * Makes the model what revision `version` recorded (statistics, learned sums and
   * adjustment), as a new version with change `rollback`, atomically; a deleted model is
   * restored that way too. Undefined, and nothing written, when the model was never stored;
   * rejects with RevisionNotFoundError when it has no such version.
   */
  rollback(sensor: Sensor, metric: MetricName, version: number): Promise<SensorWeights | undefined>;

  /** The stored model, or undefined. */
  find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined>;

  /**
   * The stored models among `keys`, read together as of one moment, in the order of `keys`:
   * absent ones are left out, a key named twice is answered twice.
   */
  findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]>;

  /** Every stored model (of one sensor, if given), ordered by sensor id then metric; [] when none. */
  list(sensor?: Sensor): Promise<SensorWeights[]>;

  /**
   * A page of list(): up to `limit` stored models after the model `after` names (from the
   * first without it), in list()'s order. Read page by page, a table of millions of models
   * neither holds the process for seconds nor fills its memory; each page is read at its own
   * moment, so a model written meanwhile may or may not be in a later page.
   */
  listPage(limit: number, after?: { readonly sensorId: string; readonly metric: string }): Promise<SensorWeights[]>;

  /**
   * Multiplies the stored mean and adjustment by `factor` (change `adjust`; std, n and the
   * learned statistics stay) in one atomic
   * step, so concurrent calls each count; answers the model as stored. Undefined, and nothing
   * written, when there is no model. Rejects with UnrepresentableWeightsError, and writes
   * nothing, when the product overflows a 64-bit float.
   */
  scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined>;

  /**
   * Deletes the model (change `delete`) and forgets its alert state, atomically; answers it
   * as the deletion recorded it, with the alert it forgot if that was raised: read in the
   * same transaction, so no transition stepped concurrently can slip between the two.
   * Undefined, and nothing written, when there is no model (never stored, or deleted).
   */
  remove(sensor: Sensor, metric: MetricName): Promise<RemovedModel | undefined>;

  /**
   * The model's revisions, newest (highest version) first, at most `limit` (>= 1), and only
   * those below version `before` when given (the next page); [] for a model never stored.
   * A deleted model's history stays readable.
   */
  history(sensor: Sensor, metric: MetricName, limit: number, before?: number): Promise<WeightsRevision[]>;

  /** Resolves when storage answers a trivial query; rejects with StorageUnavailableError otherwise. */
  ping(): Promise<void>;
}
