import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type ModelKey, type WeightsRepository } from './ports/weights.repository';

export interface BatchItem extends ModelKey {
  readonly value: number;
}

export interface BatchPredictions {
  /** In request order; null where that sensor has no model for that metric. */
  readonly predictions: Array<boolean | null>;
  /** Each (sensor, metric) without a model, once, in order of first appearance. */
  readonly missing: Array<{ readonly sensorId: string; readonly metric: string }>;
}

/** Many predictions in one call; the distinct (sensor, metric) pairs are read from storage in one go. */
@injectable()
export class PredictBatchUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    private readonly policy: AlertPolicy,
  ) {}

  async execute(items: readonly BatchItem[]): Promise<BatchPredictions> {
    // One slot per distinct model, found through metric name -> sensor id (nested maps, not
    // a joined string key), and remembered per item: a batch has up to 100,000 items.
    const slots = new Map<string, Map<string, ModelSlot>>();
    const distinct: ModelSlot[] = [];
    const slotOfItem = new Array<ModelSlot>(items.length);
    for (let index = 0; index < items.length; index++) {
      const { sensor, metric } = items[index]!;
      let ofMetric = slots.get(metric.name);
      if (!ofMetric) slots.set(metric.name, (ofMetric = new Map<string, ModelSlot>()));
      let slot = ofMetric.get(sensor.id);
      if (!slot) {
        ofMetric.set(sensor.id, (slot = { sensor, metric, weights: null }));
        distinct.push(slot);
      }
      slotOfItem[index] = slot;
    }
    for (const stored of await this.repository.findMany(distinct)) slots.get(stored.metric)!.get(stored.sensorId)!.weights = stored.weights;

    const predictions = new Array<boolean | null>(items.length);
    for (let index = 0; index < items.length; index++) {
      const { weights } = slotOfItem[index]!;
      predictions[index] = weights === null ? null : this.policy.isAlert(items[index]!.value, weights);
    }
    const missing = distinct.filter(({ weights }) => weights === null).map(({ sensor, metric }) => ({ sensorId: sensor.id, metric: metric.name }));
    return { predictions, missing };
  }
}

interface ModelSlot extends ModelKey {
  /** null until storage says otherwise: no model. */
  weights: Weights | null;
}
