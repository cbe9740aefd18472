import { inject, injectable } from 'tsyringe';
import { DomainError, InsufficientReadingsError } from '../domain/domain-errors';
import { MetricName } from '../domain/metric-name';
import { Sensor } from '../domain/sensor';
import { Weights } from '../domain/weights';
import { InvalidReadingsError } from './invalid-readings.error';
import type { ReadingsSummary, SensorReadingsSource } from './ports/sensor-readings.source';
import { WEIGHTS_REPOSITORY, type FittedModel, type ModelReadings, type WeightsRepository } from './ports/weights.repository';
import { modelKey } from '../domain/identifier-rule';

export interface TrainingSummary {
  readonly rows: number;
  readonly bytes: number;
  readonly sensors: number;
  readonly metrics: number;
  /** (sensor, metric) models written: sensors x metrics for a training, fewer for a merge (a column without readings is left as it was). */
  readonly models: number;
}

export interface TrainingOptions {
  /**
   * Merge the file's readings into the stored models (those absent are created) instead of
   * replacing them: training a then merging b equals training a ++ b.
   */
  readonly merge?: boolean;
}

/**
 * The draft's training in one pass: every (sensor, metric) accumulated, each turned into
 * Weights, and all of them stored in one transaction, so a bad file changes nothing.
 */
@injectable()
export class TrainSensorsUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  async execute(source: SensorReadingsSource, options: TrainingOptions = {}): Promise<TrainingSummary> {
    const metrics = source.metrics.map((name) => MetricName.of(name));
    const summary = await source.summarize();
    if (summary.sensors.length === 0) throw new InvalidReadingsError(source.name, 'no rows of readings');
    if (options.merge) {
      const models = await this.merge(source.name, metrics, summary.sensors);
      return { rows: summary.rows, bytes: summary.bytes, sensors: summary.sensors.length, metrics: metrics.length, models };
    }

    const models: FittedModel[] = [];
    for (const { sensorId, firstLine, accumulators } of summary.sensors) {
      const sensor = explained(() => Sensor.withId(sensorId), (reason) => new InvalidReadingsError(source.name, reason, firstLine, 'sensorId'));
      accumulators.forEach((accumulator, index) => {
        const metric = metrics[index]!;
        const weights = explained(
          () => Weights.fromAccumulator(accumulator),
          (reason) => new InvalidReadingsError(source.name, `sensor ${JSON.stringify(sensorId)} (first seen here): ${reason}`, firstLine, metric.name),
        );
        models.push({ sensor, metric, weights });
      });
    }
    await this.repository.replaceAll(models);
    return { rows: summary.rows, bytes: summary.bytes, sensors: summary.sensors.length, metrics: metrics.length, models: models.length };
  }

  /**
   * Each (sensor, metric) with readings in the file is merged into its stored model, all in
   * one transaction; a column without readings for a sensor changes nothing. A model not
   * stored yet needs two readings, as a fit does: checked here first, to say where. Returns
   * how many models it merged.
   */
  private async merge(sourceName: string, metrics: readonly MetricName[], sensors: ReadingsSummary['sensors']): Promise<number> {
    const models: Array<ModelReadings & { firstLine: number }> = [];
    for (const { sensorId, firstLine, accumulators } of sensors) {
      const sensor = explained(() => Sensor.withId(sensorId), (reason) => new InvalidReadingsError(sourceName, reason, firstLine, 'sensorId'));
      accumulators.forEach((accumulator, index) => {
        if (accumulator.n > 0) models.push({ sensor, metric: metrics[index]!, readings: accumulator.moments(), firstLine });
      });
    }
    const stored = new Set((await this.repository.findMany(models)).map(({ sensorId, metric }) => modelKey(sensorId, metric)));
    for (const { sensor, metric, readings, firstLine } of models) {
      if (readings.n < 2 && !stored.has(modelKey(sensor.id, metric.name))) {
        const reason = `sensor ${JSON.stringify(sensor.id)} (first seen here) has no model yet: ${new InsufficientReadingsError(readings.n).message}`;
        throw new InvalidReadingsError(sourceName, reason, firstLine, metric.name);
      }
    }
    await explainedAsync(
      () => this.repository.mergeAll(models),
      (reason) => new InvalidReadingsError(sourceName, reason),
    );
    return models.length;
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

async function explainedAsync<T>(step: () => Promise<T>, where: (reason: string) => InvalidReadingsError): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw error instanceof DomainError ? where(error.message) : error;
  }
}
