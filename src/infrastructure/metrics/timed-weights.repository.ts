import type { FittedModel, ModelKey, ModelReadings, RemovedModel, WeightsRepository } from '../../application/ports/weights.repository';
import { DomainError } from '../../domain/domain-errors';
import type { MetricName } from '../../domain/metric-name';
import type { Moments } from '../../domain/readings-accumulator';
import type { Sensor } from '../../domain/sensor';
import type { SensorWeights } from '../../domain/sensor-weights';
import type { Weights } from '../../domain/weights';
import type { WeightsRevision } from '../../domain/weights-revision';
import type { ServiceMetrics } from './service-metrics';

/** The repository port, timed: every call lands in weights_storage_operation_seconds, as ok, refused (a DomainError) or error. */
export class TimedWeightsRepository implements WeightsRepository {
  constructor(
    private readonly inner: WeightsRepository,
    private readonly metrics: ServiceMetrics,
  ) {}

  replace(sensor: Sensor, metric: MetricName, weights: Weights): Promise<SensorWeights> {
    return this.timed('replace', () => this.inner.replace(sensor, metric, weights));
  }

  replaceAll(models: readonly FittedModel[]): Promise<void> {
    return this.timed('replace_all', () => this.inner.replaceAll(models));
  }

  merge(sensor: Sensor, metric: MetricName, readings: Moments): Promise<SensorWeights> {
    return this.timed('merge', () => this.inner.merge(sensor, metric, readings));
  }

  mergeAll(models: readonly ModelReadings[]): Promise<void> {
    return this.timed('merge_all', () => this.inner.mergeAll(models));
  }

  rollback(sensor: Sensor, metric: MetricName, version: number): Promise<SensorWeights | undefined> {
    return this.timed('rollback', () => this.inner.rollback(sensor, metric, version));
  }

  remove(sensor: Sensor, metric: MetricName): Promise<RemovedModel | undefined> {
    return this.timed('remove', () => this.inner.remove(sensor, metric));
  }

  find(sensor: Sensor, metric: MetricName): Promise<SensorWeights | undefined> {
    return this.timed('find', () => this.inner.find(sensor, metric));
  }

  findMany(keys: readonly ModelKey[]): Promise<SensorWeights[]> {
    return this.timed('find_many', () => this.inner.findMany(keys));
  }

  list(sensor?: Sensor): Promise<SensorWeights[]> {
    return this.timed('list', () => this.inner.list(sensor));
  }

  listPage(limit: number, after?: { readonly sensorId: string; readonly metric: string }): Promise<SensorWeights[]> {
    return this.timed('list_page', () => this.inner.listPage(limit, after));
  }

  scaleMean(sensor: Sensor, metric: MetricName, factor: number): Promise<SensorWeights | undefined> {
    return this.timed('scale_mean', () => this.inner.scaleMean(sensor, metric, factor));
  }

  history(sensor: Sensor, metric: MetricName, limit: number, before?: number): Promise<WeightsRevision[]> {
    return this.timed('history', () => this.inner.history(sensor, metric, limit, before));
  }

  ping(): Promise<void> {
    return this.timed('ping', () => this.inner.ping());
  }

  private async timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const startedAt = process.hrtime.bigint();
    let result = 'error';
    try {
      const value = await call();
      result = 'ok';
      return value;
    } catch (error) {
      // A rule the domain refused (a missing version, a new model from one reading) is the
      // client's 4xx, not storage failing: kept out of result="error", which pages someone.
      if (error instanceof DomainError) result = 'refused';
      throw error;
    } finally {
      this.metrics.storageDuration.observe({ operation, result }, Number(process.hrtime.bigint() - startedAt) / 1e9);
    }
  }
}
