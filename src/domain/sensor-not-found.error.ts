import { DomainError } from './domain-error';

export class SensorNotFoundError extends DomainError {
  constructor(
    readonly sensorId: string,
    readonly metric: string,
  ) {
    super(`Sensor ${JSON.stringify(sensorId)} has no fitted model for metric ${JSON.stringify(metric)}.`);
  }
}
