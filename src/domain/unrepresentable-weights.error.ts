import { DomainError } from './domain-error';

/** Readings so large that their mean or spread overflows a 64-bit float. */
export class UnrepresentableWeightsError extends DomainError {
  constructor() {
    super('The readings are too large: their mean or standard deviation overflows a 64-bit float.');
  }
}
