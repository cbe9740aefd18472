import { DomainError } from './domain-error';

export class InvalidSensorIdError extends DomainError {
  constructor(readonly sensorId: string) {
    super(
      `Invalid sensor id ${JSON.stringify(sensorId)}: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
    );
  }
}
