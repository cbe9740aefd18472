import { inject, injectable } from 'tsyringe';
import { ADJUST_MEAN_FACTOR } from '../domain/adjust-rule';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { modelNotFound } from './model-not-found';

@injectable()
export class AdjustWeightsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /** Applies the adjust rule (domain/adjust-rule.ts) where the model is stored, atomically, so concurrent adjusts all count. */
  async execute(sensor: Sensor, metric: MetricName): Promise<SensorWeights> {
    const adjusted = await this.repository.scaleMean(sensor, metric, ADJUST_MEAN_FACTOR);
    if (!adjusted) throw await modelNotFound(this.repository, sensor, metric);
    return adjusted;
  }
}
