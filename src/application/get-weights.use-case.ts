import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import { SensorNotFoundError } from '../domain/domain-errors';
import type { SensorWeights } from '../domain/sensor-weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

@injectable()
export class GetWeightsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  async execute(sensor: Sensor, metric: MetricName): Promise<SensorWeights> {
    const stored = await this.repository.find(sensor, metric);
    if (!stored) throw new SensorNotFoundError(sensor.id, metric.name);
    return stored;
  }
}
