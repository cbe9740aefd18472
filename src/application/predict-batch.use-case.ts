import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

export interface BatchItem {
  readonly sensor: Sensor;
  readonly metric: MetricName;
  readonly value: number;
}

export interface BatchPredictions {
  /** In request order; null where that sensor has no model for that metric. */
  readonly predictions: Array<boolean | null>;
  /** Each (sensor, metric) without a model, once, in order of first appearance. */
  readonly missing: Array<{ readonly sensorId: string; readonly metric: string }>;
}

/** Many predictions in one call; each distinct (sensor, metric) is read from storage once. */
@injectable()
export class PredictBatchUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    private readonly policy: AlertPolicy,
  ) {}

  async execute(items: readonly BatchItem[]): Promise<BatchPredictions> {
    const models = new Map<string, Weights | null>();
    const missing: Array<{ sensorId: string; metric: string }> = [];
    const predictions = new Array<boolean | null>(items.length);
    for (let index = 0; index < items.length; index++) {
      const { sensor, metric, value } = items[index]!;
      const key = `${sensor.id}\u0000${metric.name}`;
      let weights = models.get(key);
      if (weights === undefined) {
        weights = (await this.repository.find(sensor, metric))?.weights ?? null;
        models.set(key, weights);
        if (weights === null) missing.push({ sensorId: sensor.id, metric: metric.name });
      }
      predictions[index] = weights === null ? null : this.policy.isAlert(value, weights);
    }
    return { predictions, missing };
  }
}
