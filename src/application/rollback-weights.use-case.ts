import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { modelNotFound } from './model-not-found';

@injectable()
export class RollbackWeightsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /** Makes the model what its revision `version` recorded, as a new version (history stays append-only). */
  async execute(sensor: Sensor, metric: MetricName, version: number): Promise<SensorWeights> {
    const restored = await this.repository.rollback(sensor, metric, version);
    if (!restored) throw await modelNotFound(this.repository, sensor, metric);
    return restored;
  }
}
