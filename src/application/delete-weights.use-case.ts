import { inject, injectable } from 'tsyringe';
import { alertEventOf } from '../domain/alert-event';
import { AlertPolicy } from '../domain/alert-policy';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { ALERT_EVENT_PUBLISHER, type AlertEventPublisher } from './ports/alert-event.publisher';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { modelNotFound } from './model-not-found';

@injectable()
export class DeleteWeightsUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    @inject(ALERT_EVENT_PUBLISHER) private readonly publisher: AlertEventPublisher,
    private readonly policy: AlertPolicy,
  ) {}

  /**
   * Deletes the model and forgets its alert state; its history stays, and a rollback to any
   * of its versions restores it. A raised alert of the model is published as cleared, with
   * reason `model_deleted`, so that no sink keeps showing it. Answers the weights deleted,
   * with the deletion's version. Rejects with SensorNotFoundError when there is no model
   * (never stored, or deleted).
   */
  async execute(sensor: Sensor, metric: MetricName): Promise<SensorWeights> {
    const removed = await this.repository.remove(sensor, metric);
    if (!removed) throw await modelNotFound(this.repository, sensor, metric);
    const { raisedAlert, ...deleted } = removed;
    if (raisedAlert) {
      const transition = { sensorId: sensor.id, metric: metric.name, state: 'cleared', value: raisedAlert.lastValue, threshold: raisedAlert.threshold, at: removed.updatedAt, reason: 'model_deleted' } as const;
      this.publisher.publish(alertEventOf(transition, removed.weights, this.policy));
    }
    return deleted;
  }
}
