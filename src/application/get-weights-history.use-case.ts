import { inject, injectable } from 'tsyringe';
import type { MetricName } from '../domain/metric-name';
import type { Sensor } from '../domain/sensor';
import type { WeightsRevision } from '../domain/weights-revision';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { modelNotFound } from './model-not-found';

@injectable()
export class GetWeightsHistoryUseCase {
  static readonly DEFAULT_LIMIT = 100;
  static readonly MAX_LIMIT = 1000;

  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /**
   * Newest first, at most `limit`; with `before`, only revisions below that version (the
   * next page starts below the last version of this one). A history is never emptied (a
   * deleted model keeps its own), so an empty one means the model was never stored
   * (SensorNotFoundError); an empty page past the first, that there is nothing older.
   */
  async execute(sensor: Sensor, metric: MetricName, limit: number, before?: number): Promise<WeightsRevision[]> {
    const revisions = await this.repository.history(sensor, metric, limit, before);
    if (revisions.length === 0 && (before === undefined || (await this.repository.history(sensor, metric, 1)).length === 0)) {
      throw await modelNotFound(this.repository, sensor, metric);
    }
    return revisions;
  }
}
