import type { FittedModel, ModelKey, WeightsRepository } from '../../src/application/ports/weights.repository';
import { StorageUnavailableError } from '../../src/application/storage-unavailable.error';
import type { MetricName } from '../../src/domain/metric-name';
import type { Sensor } from '../../src/domain/sensor';
import type { SensorWeights } from '../../src/domain/sensor-weights';
import { Weights } from '../../src/domain/weights';
import type { WeightsChange, WeightsRevision } from '../../src/domain/weights-revision';

/**
 * A map-backed stand-in for the port, for use-case unit tests. It runs the same contract suite
 * as the real adapters (tests/integration/weights-repository.contract.test.ts), so it cannot
 * drift from them. `reachable = false` makes every call fail as unreachable storage does.
 */
export class InMemoryWeightsRepository implements WeightsRepository {
  private readonly current = new Map<string, SensorWeights>();
  private readonly revisions = new Map<string, WeightsRevision[]>();
  reachable = true;

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

  async scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    this.serving();
    const stored = this.current.get(key(sensor, metric));
    if (!stored) return undefined;
    const { mean, std, n } = stored.weights;
    // Weights.of refuses an overflowed mean (UnrepresentableWeightsError) before anything is stored.
    return this.store(sensor, metric, Weights.of(mean * factor, std, n), 'adjust', new Date());
  }

  async history(sensor: Sensor, metric: MetricName, limit: number): Promise<WeightsRevision[]> {
    this.serving();
    const revisions = this.revisions.get(key(sensor, metric)) ?? [];
    return revisions.slice(Math.max(0, revisions.length - limit)).reverse();
  }

  async ping(): Promise<void> {
    this.serving();
  }

  private serving(): void {
    if (!this.reachable) throw new StorageUnavailableError('the in-memory store is set unreachable');
  }

  private store(sensor: Sensor, metric: MetricName, weights: Weights, change: WeightsChange, at: Date): SensorWeights {
    const modelKey = key(sensor, metric);
    const version = (this.current.get(modelKey)?.version ?? 0) + 1;
    const stored = { sensorId: sensor.id, metric: metric.name, weights, version, updatedAt: at };
    this.current.set(modelKey, stored);
    this.revisions.set(modelKey, [...(this.revisions.get(modelKey) ?? []), { version, change, weights, recordedAt: at }]);
    return stored;
  }
}

/** Refuses weights the domain would refuse, as the real tables' CHECK constraints do. */
function checked(weights: Weights): Weights {
  return Weights.of(weights.mean, weights.std, weights.n);
}

function key(sensor: Sensor, metric: MetricName): string {
  return `${sensor.id}\u0000${metric.name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
