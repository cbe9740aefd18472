import { inject, injectable } from 'tsyringe';
import { DomainError } from '../domain/domain-errors';
import { MetricName } from '../domain/metric-name';
import { Sensor } from '../domain/sensor';
import { Weights } from '../domain/weights';
import { InvalidReadingsError } from './invalid-readings.error';
import type { SensorReadingsSource } from './ports/sensor-readings.source';
import { WEIGHTS_REPOSITORY, type FittedModel, type WeightsRepository } from './ports/weights.repository';

export interface TrainingSummary {
  readonly rows: number;
  readonly bytes: number;
  readonly sensors: number;
  readonly metrics: number;
}

/**
 * The draft's training in one pass: every (sensor, metric) accumulated, each turned into
 * Weights, and all of them stored in one transaction, so a bad file changes nothing.
 */
@injectable()
export class TrainSensorsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  async execute(source: SensorReadingsSource): Promise<TrainingSummary> {
    const metrics = source.metrics.map((name) => MetricName.of(name));
    const summary = await source.summarize();
    if (summary.sensors.length === 0) throw new InvalidReadingsError(source.name, 'no data rows after the header');

    const models: FittedModel[] = [];
    for (const { sensorId, firstLine, accumulators } of summary.sensors) {
      const sensor = explained(() => Sensor.withId(sensorId), (reason) => new InvalidReadingsError(source.name, reason, firstLine, 'sensorId'));
      accumulators.forEach((accumulator, index) => {
        const metric = metrics[index]!;
        const weights = explained(
          () => Weights.fromAccumulator(accumulator),
          (reason) => new InvalidReadingsError(source.name, `sensor ${JSON.stringify(sensorId)} (first row on this line): ${reason}`, firstLine, metric.name),
        );
        models.push({ sensor, metric, weights });
      });
    }
    await this.repository.replaceAll(models);
    return { rows: summary.rows, bytes: summary.bytes, sensors: summary.sensors.length, metrics: metrics.length };
  }
}

/** Runs a domain step; a rule it breaks becomes an error that says where in the data. */
function explained<T>(step: () => T, where: (reason: string) => InvalidReadingsError): T {
  try {
    return step();
  } catch (error) {
    throw error instanceof DomainError ? where(error.message) : error;
  }
}
