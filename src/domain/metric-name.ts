import { isValidIdentifier } from './identifier-rule';
import { InvalidMetricNameError } from './domain-errors';

/** Which reading of a sensor a model describes, e.g. `value` or the CSV column `params.velRMS.x`. */
export class MetricName {
  static readonly DEFAULT = new MetricName('value');

  private constructor(readonly name: string) {}

  static of(name: string): MetricName {
    if (!isValidIdentifier(name)) throw new InvalidMetricNameError(name);
    return new MetricName(name);
  }
}
