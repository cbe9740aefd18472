import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { modelNotFound } from './model-not-found';

@injectable()
export class GetWeightsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  async execute(sensor: Sensor, metric: MetricName): Promise<SensorWeights> {
    const stored = await this.repository.find(sensor, metric);
    if (!stored) throw await modelNotFound(this.repository, sensor, metric);
    return stored;
  }
}
