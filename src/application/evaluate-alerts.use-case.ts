import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { Sensor } from '../domain/sensor';
import { SensorNotFoundError } from '../domain/domain-errors';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

/**
 * sensor id -> metric -> in alert? (the draft's `in_alert`), ordered by sensor id then metric
 * (byte order). Maps, not objects: ids are user strings (see interfaces/ordered-json.ts).
 */
export type AlertTable = Map<string, Map<string, boolean>>;

@injectable()
export class EvaluateAlertsUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    private readonly policy: AlertPolicy,
  ) {}

  /** Whether `value` is an alert for every stored model, or for every model of one sensor. */
  async execute(value: number, sensor?: Sensor): Promise<AlertTable> {
    const models = await this.repository.list(sensor);
    if (sensor && models.length === 0) throw new SensorNotFoundError(sensor.id);
    const table: AlertTable = new Map();
    for (const { sensorId, metric, weights } of models) {
      let metrics = table.get(sensorId);
      if (!metrics) table.set(sensorId, (metrics = new Map<string, boolean>()));
      metrics.set(metric, this.policy.isAlert(value, weights));
    }
    return table;
  }
}
