import type { FittedModel, ModelKey, WeightsRepository } from '../../src/application/ports/weights.repository';
import type { MetricName } from '../../src/domain/metric-name';
import type { Sensor } from '../../src/domain/sensor';
import type { SensorWeights } from '../../src/domain/sensor-weights';
import { Weights } from '../../src/domain/weights';
import type { WeightsChange, WeightsRevision } from '../../src/domain/weights-revision';

/** A map-backed stand-in for the port, for use-case unit tests. */
export class InMemoryWeightsRepository implements WeightsRepository {
  private readonly current = new Map<string, SensorWeights>();
  private readonly revisions = new Map<string, WeightsRevision[]>();
  reachable = true;

  async replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights> {
    return this.store(sensor, metric, weights, 'fit');
  }

  async replaceAll(models: readonly FittedModel[]): Promise<void> {
    for (const { sensor, metric, weights } of models) this.store(sensor, metric, weights, 'fit');
  }

  async find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined> {
    return this.current.get(key(sensor, metric));
  }

  async findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]> {
    return keys.flatMap(({ sensor, metric }) => this.current.get(key(sensor, metric)) ?? []);
  }

  async list(sensor?: Sensor): Promise<SensorWeights[]> {
    return [...this.current.values()]
      .filter((stored) => !sensor || stored.sensorId === sensor.id)
      .sort((a, b) => compare(a.sensorId, b.sensorId) || compare(a.metric, b.metric));
  }

  async scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    const stored = this.current.get(key(sensor, metric));
    if (!stored) return undefined;
    const { mean, std, n } = stored.weights;
    return this.store(sensor, metric, Weights.of(mean * factor, std, n), 'adjust');
  }

  async history(sensor: Sensor, metric: MetricName, limit: number): Promise<WeightsRevision[]> {
    return (this.revisions.get(key(sensor, metric)) ?? []).slice(-limit).reverse();
  }

  async ping(): Promise<void> {
    if (!this.reachable) throw new Error('storage is down');
  }

  private store(sensor: Sensor, metric: MetricName, weights: Weights, change: WeightsChange): SensorWeights {
    const modelKey = key(sensor, metric);
    const version = (this.current.get(modelKey)?.version ?? 0) + 1;
    const stored = { sensorId: sensor.id, metric: metric.name, weights, version, updatedAt: new Date() };
    this.current.set(modelKey, stored);
    this.revisions.set(modelKey, [...(this.revisions.get(modelKey) ?? []), { version, change, weights, recordedAt: stored.updatedAt }]);
    return stored;
  }
}

function key(sensor: Sensor, metric: MetricName): string {
  return `${sensor.id}\u0000${metric.name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
