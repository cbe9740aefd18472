import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import { SensorNotFoundError } from '../domain/domain-errors';
import type { SensorWeights } from '../domain/sensor-weights';
import { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

@injectable()
export class AdjustWeightsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /** Raises the stored mean by 10%; the storage does it atomically so concurrent adjusts all count. */
  async execute(sensor: Sensor, metric: MetricName): Promise<SensorWeights> {
    const adjusted = await this.repository.scaleMean(sensor, metric, Weights.ADJUST_FACTOR);
    if (!adjusted) throw new SensorNotFoundError(sensor.id, metric.name);
    return adjusted;
  }
}
