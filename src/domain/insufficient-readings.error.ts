import { DomainError } from './domain-error';

export class InsufficientReadingsError extends DomainError {
  constructor(readonly usableReadings: number) {
    super(
      `At least 2 non-null readings are needed to estimate a sample standard deviation; got ${usableReadings}.`,
    );
  }
}
