import { isValidIdentifier } from './identifier-rule';
import { InvalidSensorIdError } from './domain-errors';

/** A vibration sensor, known by a validated id; its models are stored per metric. */
export class Sensor {
  private constructor(readonly id: string) {}

  static withId(id: string): Sensor {
    if (!isValidIdentifier(id)) throw new InvalidSensorIdError(id);
    return new Sensor(id);
  }
}
