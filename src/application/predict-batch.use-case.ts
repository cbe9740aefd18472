import { inject, injectable } from 'tsyringe';
import { AlertPolicy } from '../domain/alert-policy';
import type { Weights } from '../domain/weights';
import { WEIGHTS_REPOSITORY, type ModelKey, type WeightsRepository } from './ports/weights.repository';

/**
 * Readings of many models, in columns: reading i is `values[i]`, of the model
 * `models[modelOf[i]]`. Each model is listed once, so storage is asked for it once: whoever
 * builds the batch de-duplicates (the HTTP edge does it while it checks each id once).
 * Columns rather than an object per reading: a batch has up to 100,000 of them.
 */
export interface ReadingsBatch {
  /** The distinct models read, in order of first appearance. */
  readonly models: readonly ModelKey[];
  /** Per reading, the index of its model in `models`. */
  readonly modelOf: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

export interface BatchPredictions {
  /** In reading order; null where that sensor has no model for that metric. */
  readonly predictions: Array<boolean | null>;
  /** Each model of the batch that is not stored, in the batch's order. */
  readonly missing: Array<{ readonly sensorId: string; readonly metric: string }>;
}

/** Many predictions in one call; the batch's models are read from storage in one go. */
@injectable()
export class PredictBatchUseCase {
  constructor(
    @inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository,
    private readonly policy: AlertPolicy,
  ) {}

  async execute({ models, modelOf, values }: ReadingsBatch): Promise<BatchPredictions> {
    if (values.length !== modelOf.length) throw new RangeError(`${modelOf.length} readings but ${values.length} values`);
    const weights = await this.weightsOf(models);
    const predictions = new Array<boolean | null>(values.length);
    for (let index = 0; index < values.length; index++) {
      const model = weights[modelOf[index]!];
      if (model === undefined) throw new RangeError(`reading ${index} names model ${modelOf[index]}, of ${models.length}`);
      predictions[index] = model === null ? null : this.policy.isAlert(values[index]!, model);
    }
    const missing = models.flatMap(({ sensor, metric }, index) => (weights[index] === null ? [{ sensorId: sensor.id, metric: metric.name }] : []));
    return { predictions, missing };
  }

  /** Each model's weights, null where none is stored. findMany answers in key order, leaving absent ones out. */
  private async weightsOf(models: readonly ModelKey[]): Promise<Array<Weights | null>> {
    const found = await this.repository.findMany(models);
    const weights = new Array<Weights | null>(models.length);
    let next = 0;
    for (let index = 0; index < models.length; index++) {
      const stored = found[next];
      const { sensor, metric } = models[index]!;
      if (stored !== undefined && stored.sensorId === sensor.id && stored.metric === metric.name) {
        weights[index] = stored.weights;
        next++;
      } else {
        weights[index] = null;
      }
    }
    // A store that broke the port's ordering would silently misreport models as missing.
    if (next !== found.length) throw new Error('findMany answered models out of key order');
    return weights;
  }
}
