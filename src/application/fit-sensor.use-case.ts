import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

@injectable()
export class FitSensorUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /** Learns mean and sample std from the readings (nulls skipped) and replaces the stored model. */
  async execute(sensor: Sensor, metric: MetricName, readings: Iterable<number | null>): Promise<SensorWeights> {
    const weights = Weights.fromReadings(readings);
    return this.repository.replace(sensor, metric, weights);
  }
}
