import { inject, injectable } from 'tsyringe';
import { InsufficientReadingsError } from '../domain/domain-errors';
import type { MetricName } from '../domain/metric-name';
import { ReadingsAccumulator } from '../domain/readings-accumulator';
import type { Sensor } from '../domain/sensor';
import type { SensorWeights } from '../domain/sensor-weights';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

@injectable()
export class UpdateSensorUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /**
   * Merges the readings (nulls skipped) into the stored model, as if they had been part of
   * its fit; one reading is enough. A model never fitted is created from them, which needs
   * two (the repository refuses fewer).
   */
  async execute(sensor: Sensor, metric: MetricName, readings: Iterable<number | null>): Promise<SensorWeights> {
    const accumulator = new ReadingsAccumulator();
    for (const reading of readings) accumulator.add(reading);
    if (accumulator.n === 0) throw new InsufficientReadingsError(0, 1);
    return this.repository.merge(sensor, metric, accumulator.moments());
  }
}
