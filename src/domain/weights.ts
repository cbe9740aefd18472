import { InsufficientReadingsError, UnrepresentableWeightsError } from './domain-errors';
import { ReadingsAccumulator } from './readings-accumulator';

/**
 * What "normal" looks like for one sensor metric: the mean and the sample standard
 * deviation (n - 1 denominator) of the readings it was fitted on, and their count.
 */
export class Weights {
  // Makes the type nominal: only Weights.of, which checks the invariants, builds one; a plain
  // `{ mean, std, n }` is not a Weights. Type-level only, nothing is stored.
  private declare readonly checked: true;

  private constructor(
    readonly mean: number,
    readonly std: number,
    readonly n: number,
  ) {}

  /** Missing readings (null or NaN) are skipped, as the draft skips empty cells. */
  static fromReadings(readings: Iterable<number | null>): Weights {
    const accumulator = new ReadingsAccumulator();
    for (const reading of readings) accumulator.add(reading);
    return Weights.fromAccumulator(accumulator);
  }

  static fromAccumulator(accumulator: ReadingsAccumulator): Weights {
    return Weights.of(accumulator.mean, accumulator.sampleStd, accumulator.n);
  }

  static of(mean: number, std: number, n: number): Weights {
    if (!Number.isInteger(n) || n < 2) throw new InsufficientReadingsError(n);
    if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) throw new UnrepresentableWeightsError();
    return new Weights(mean, std, n);
  }
}
