import type { FittedModel, ModelKey, ModelReadings, RemovedModel, WeightsRepository } from '../../src/application/ports/weights.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import type { MetricName } from '../../src/domain/metric-name';
import { RevisionNotFoundError } from '../../src/domain/domain-errors';
import { ReadingsAccumulator, type Moments } from '../../src/domain/readings-accumulator';
import type { Sensor } from '../../src/domain/sensor';
import type { SensorWeights } from '../../src/domain/sensor-weights';
import { Weights } from '../../src/domain/weights';
import { REPLACING_CHANGES, type WeightsChange, type WeightsRevision } from '../../src/domain/weights-revision';
import { modelKey } from '../../src/domain/identifier-rule';
import type { InMemoryAlertStateRepository } from './in-memory-alert-state.repository';

/**
 * A map-backed stand-in for the port, for use-case unit tests. It runs the same contract suite
 * as the real adapters (tests/integration/weights-repository.contract.test.ts), so it cannot
 * drift from them. `reachable = false` makes every call fail as unreachable storage does.
 */
export class InMemoryWeightsRepository implements WeightsRepository {
  private readonly current = new Map<string, SensorWeights>();
  // The version each deleted model's next write goes on from, by key.
  private readonly deletedAt = new Map<string, number>();
  private readonly revisions = new Map<string, WeightsRevision[]>();
  reachable = true;

  /** `alertStates`: the fake whose state remove() forgets, as the real stores forget it in their own table. */
  constructor(private readonly alertStates?: InMemoryAlertStateRepository) {}

  async replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights> {
    this.serving();
    return this.store(sensor, metric, checked(weights), 'fit', new Date());
  }

  async replaceAll(models: readonly FittedModel[]): Promise<void> {
    this.serving();
    // All or nothing: everything is checked before anything is stored. One instant for the batch.
    const batch = models.map((model) => ({ ...model, weights: checked(model.weights) }));
    const at = new Date();
    for (const { sensor, metric, weights } of batch) this.store(sensor, metric, weights, 'fit', at);
  }

  async merge(sensor: Sensor, metric: MetricName, readings: Moments): Promise<SensorWeights> {
    this.serving();
    return this.store(sensor, metric, this.merged(sensor, metric, readings), 'update', new Date());
  }

  async mergeAll(models: readonly ModelReadings[]): Promise<void> {
    this.serving();
    // All or nothing: every merge computed (in order, a model named twice merged twice) before anything is stored.
    const at = new Date();
    const pending = new Map<string, Weights>();
    const batch = models.flatMap(({ sensor, metric, readings, scoredVersion }) => {
      if (scoredVersion !== undefined && !this.stillScoredAgainst(sensor, metric, scoredVersion)) return [];
      const weights = this.merged(sensor, metric, readings, pending.get(key(sensor, metric)));
      pending.set(key(sensor, metric), weights);
      return [{ sensor, metric, weights }];
    });
    for (const { sensor, metric, weights } of batch) this.store(sensor, metric, weights, 'update', at);
  }

  async rollback(sensor: Sensor, metric: MetricName, version: number): Promise<SensorWeights | undefined> {
    this.serving();
    if (!this.current.has(key(sensor, metric)) && !this.deletedAt.has(key(sensor, metric))) return undefined;
    const revision = this.revisions.get(key(sensor, metric))?.find((candidate) => candidate.version === version);
    if (!revision) throw new RevisionNotFoundError(sensor.id, metric.name, version);
    return this.store(sensor, metric, revision.weights, 'rollback', new Date());
  }

  async remove(sensor: Sensor, metric: MetricName): Promise<RemovedModel | undefined> {
    this.serving();
    const stored = this.current.get(key(sensor, metric));
    if (!stored) return undefined;
    const removed = this.store(sensor, metric, stored.weights, 'delete', new Date());
    this.current.delete(key(sensor, metric));
    this.deletedAt.set(key(sensor, metric), removed.version);
    const forgotten = this.alertStates?.forget(sensor.id, metric.name);
    return forgotten?.status === 'raised' ? { ...removed, raisedAlert: { lastValue: forgotten.lastValue, threshold: forgotten.threshold } } : removed;
  }

  async find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined> {
    this.serving();
    return this.current.get(key(sensor, metric));
  }

  async findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]> {
    this.serving();
    return keys.flatMap(({ sensor, metric }) => this.current.get(key(sensor, metric)) ?? []);
  }

  async list(sensor?: Sensor): Promise<SensorWeights[]> {
    this.serving();
    return [...this.current.values()]
      .filter((stored) => !sensor || stored.sensorId === sensor.id)
      .sort((a, b) => compare(a.sensorId, b.sensorId) || compare(a.metric, b.metric));
  }

  async listPage(limit: number, after?: { readonly sensorId: string; readonly metric: string }): Promise<SensorWeights[]> {
    const all = await this.list();
    const first = after === undefined ? 0 : all.findIndex((stored) => (compare(stored.sensorId, after.sensorId) || compare(stored.metric, after.metric)) > 0);
    return first < 0 ? [] : all.slice(first, first + limit);
  }

  async scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    this.serving();
    const stored = this.current.get(key(sensor, metric));
    if (!stored) return undefined;
    // adjusted() refuses an overflowed mean (UnrepresentableWeightsError) before anything is stored.
    return this.store(sensor, metric, stored.weights.adjusted(factor), 'adjust', new Date());
  }

  async history(sensor: Sensor, metric: MetricName, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<WeightsRevision[]> {
    this.serving();
    const revisions = (this.revisions.get(key(sensor, metric)) ?? []).filter((revision) => revision.version < before);
    return revisions.slice(Math.max(0, revisions.length - limit)).reverse();
  }

  async ping(): Promise<void> {
    this.serving();
  }

  /** Stored, and neither deleted, refitted nor rolled back since `version`. */
  private stillScoredAgainst(sensor: Sensor, metric: MetricName, version: number): boolean {
    if (!this.current.has(key(sensor, metric))) return false;
    const since = (this.revisions.get(key(sensor, metric)) ?? []).filter((revision) => revision.version > version);
    return !since.some((revision) => REPLACING_CHANGES.includes(revision.change));
  }

  private merged(sensor: Sensor, metric: MetricName, readings: Moments, pending?: Weights): Weights {
    const stored = pending ?? this.current.get(key(sensor, metric))?.weights;
    return stored ? stored.merged(readings) : Weights.fromAccumulator(ReadingsAccumulator.fromMoments(readings));
  }

  private serving(): void {
    if (!this.reachable) throw new StorageUnavailableError('the in-memory store is set unreachable');
  }

  private store(sensor: Sensor, metric: MetricName, weights: Weights, change: WeightsChange, at: Date): SensorWeights {
    const modelKey = key(sensor, metric);
    const version = (this.current.get(modelKey)?.version ?? this.deletedAt.get(modelKey) ?? 0) + 1;
    const stored = { sensorId: sensor.id, metric: metric.name, weights, version, updatedAt: at };
    this.current.set(modelKey, stored);
    this.deletedAt.delete(modelKey);
    this.alertStates?.modelStored(sensor.id, metric.name);
    this.revisions.set(modelKey, [...(this.revisions.get(modelKey) ?? []), { version, change, weights, recordedAt: at }]);
    return stored;
  }
}

/** Refuses weights the domain would refuse, as the real tables' CHECK constraints do. */
function checked(weights: Weights): Weights {
  return Weights.restore(weights.mean, weights.std, weights.n, weights.adjustment, weights.learned);
}

function key(sensor: Sensor, metric: MetricName): string {
  return modelKey(sensor.id, metric.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
