import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import { SensorNotFoundError } from '../domain/domain-errors';
import type { SensorWeights } from '../domain/sensor-weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

@injectable()
export class DeleteWeightsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /**
   * Deletes the model and forgets its alert state; its history stays, and a rollback to any
   * of its versions restores it. Answers the weights deleted, with the deletion's version.
   * Rejects with SensorNotFoundError when there is no model (never stored, or deleted).
   */
  async execute(sensor: Sensor, metric: MetricName): Promise<SensorWeights> {
    const removed = await this.repository.remove(sensor, metric);
    if (!removed) throw new SensorNotFoundError(sensor.id, metric.name);
    return removed;
  }
}
