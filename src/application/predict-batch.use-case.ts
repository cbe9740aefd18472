import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type ModelKey, type WeightsRepository } from './ports/weights.repository';

/**
 * Readings of many models, as two parallel columns: `values[i]` is a reading of `models[i]`.
 * Columns rather than an object per reading: a batch has up to 100,000 of them.
 */
export interface ReadingsBatch {
  readonly models: readonly ModelKey[];
  readonly values: ArrayLike<number>;
}

export interface BatchPredictions {
  /** In reading order; null where that sensor has no model for that metric. */
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

  async execute({ models, values }: ReadingsBatch): Promise<BatchPredictions> {
    if (values.length !== models.length) throw new RangeError(`${models.length} models but ${values.length} values`);
    // Readings of one model usually share one key object, so each reading costs one identity
    // lookup; equal keys in different objects still meet in one slot, found by their ids.
    const slotOfKey = new Map<ModelKey, ModelSlot>();
    const slotOfIds = new Map<string, Map<string, ModelSlot>>();
    const distinct: ModelSlot[] = [];
    for (const key of models) {
      if (slotOfKey.has(key)) continue;
      let ofMetric = slotOfIds.get(key.metric.name);
      if (!ofMetric) slotOfIds.set(key.metric.name, (ofMetric = new Map<string, ModelSlot>()));
      let slot = ofMetric.get(key.sensor.id);
      if (!slot) {
        ofMetric.set(key.sensor.id, (slot = { sensor: key.sensor, metric: key.metric, weights: null }));
        distinct.push(slot);
      }
      slotOfKey.set(key, slot);
    }
    for (const stored of await this.repository.findMany(distinct)) slotOfIds.get(stored.metric)!.get(stored.sensorId)!.weights = stored.weights;

    const predictions = new Array<boolean | null>(models.length);
    for (let index = 0; index < models.length; index++) {
      const { weights } = slotOfKey.get(models[index]!)!;
      predictions[index] = weights === null ? null : this.policy.isAlert(values[index]!, weights);
    }
    const missing = distinct.filter(({ weights }) => weights === null).map(({ sensor, metric }) => ({ sensorId: sensor.id, metric: metric.name }));
    return { predictions, missing };
  }
}

interface ModelSlot extends ModelKey {
  /** null until storage says otherwise: no model. */
  weights: Weights | null;
}
