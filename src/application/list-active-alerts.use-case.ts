import { inject, injectable } from 'tsyringe';
import { modelKey } from '../domain/identifier-rule';
import { MetricName } from '../domain/metric-name';
import { Sensor } from '../domain/sensor';
import { ALERT_STATE_REPOSITORY, type ActiveAlert, type AlertStateRepository } from './ports/alert-state.repository';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

/** The alerts raised by live readings and not cleared yet (GET /alerts/active). */
@injectable()
export class ListActiveAlertsUseCase {
  constructor(
    @inject(ALERT_STATE_REPOSITORY) private readonly states: AlertStateRepository,
    @inject(WEIGHTS_REPOSITORY) private readonly weights: WeightsRepository,
  ) {}

  /**
   * Ordered by sensor id then metric, byte by byte. Only those of models still stored:
   * deleting a model forgets its state, but a batch of live readings scored just before
   * the deletion may store one again after it.
   */
  async execute(): Promise<ActiveAlert[]> {
    const active = await this.states.listActive();
    if (active.length === 0) return active;
    const stored = await this.weights.findMany(active.map((alert) => ({ sensor: Sensor.withId(alert.sensorId), metric: MetricName.of(alert.metric) })));
    const storedKeys = new Set(stored.map((model) => modelKey(model.sensorId, model.metric)));
    return active.filter((alert) => storedKeys.has(modelKey(alert.sensorId, alert.metric)));
  }
}
