import { DomainError } from './domain-error';
import { quotedPrefix } from './quoted-prefix';

export class InvalidSensorIdError extends DomainError {
  constructor(readonly sensorId: string) {
    super(
      `Invalid sensor id ${quotedPrefix(sensorId)}: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
    );
  }
}
