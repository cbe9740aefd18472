import { DomainError } from './domain-error';
import { quotedPrefix } from './quoted-prefix';

export class InvalidMetricNameError extends DomainError {
  constructor(readonly metric: string) {
    super(
      `Invalid metric name ${quotedPrefix(metric)}: use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
    );
  }
}
