import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { modelNotFound } from './model-not-found';

@injectable()
export class PredictAlertUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    private readonly policy: AlertPolicy,
  ) {}

  /** True when `value` is an alert for the sensor's stored model of `metric`. */
  async execute(sensor: Sensor, metric: MetricName, value: number): Promise<boolean> {
    const stored = await this.repository.find(sensor, metric);
    if (!stored) throw await modelNotFound(this.repository, sensor, metric);
    return this.policy.isAlert(value, stored.weights);
  }
}
