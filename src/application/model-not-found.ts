import { SensorNotFoundError } from '../domain/domain-errors';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { WeightsRepository } from './ports/weights.repository';

/** The SensorNotFoundError for a model the sensor lacks, naming the metrics it has models for. */
export async function modelNotFound(repository: WeightsRepository, sensor: Sensor, metric: MetricName): Promise<SensorNotFoundError> {
  const others = await repository.list(sensor);
  return new SensorNotFoundError(sensor.id, metric.name, others.map((model) => model.metric));
}
