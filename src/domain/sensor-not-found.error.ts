import { DomainError } from './domain-error';

export class SensorNotFoundError extends DomainError {
  /** Without a metric: the sensor has no model at all. */
  constructor(
    readonly sensorId: string,
    readonly metric?: string,
  ) {
    super(
      `Sensor ${JSON.stringify(sensorId)} has no fitted model${metric === undefined ? '' : ` for metric ${JSON.stringify(metric)}`}.`,
    );
  }
}
