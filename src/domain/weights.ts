import { InsufficientReadingsError, UnrepresentableWeightsError } from './domain-errors';
import { legacyMoments } from './legacy-moments';
import { ReadingsAccumulator, type Moments } from './readings-accumulator';

/**
 * What "normal" looks like for one sensor metric: the mean and the sample standard
 * deviation (n - 1 denominator) of the readings it was fitted on, and their count.
 *
 * `mean` is the effective mean, the one alerts use: the learned mean times `adjustment`, the
 * operator's factor (1 until adjusted; each adjust multiplies both by 1.1). `learned` holds
 * the sufficient statistics of the readings (exact sum, mean, M2), so that new readings can
 * be merged in as if they had been part of the fit; std and n are theirs.
 */
export class Weights {
  // Makes the type nominal: only the factories below, which check the invariants, build one;
  // a plain `{ mean, std, n }` is not a Weights. Type-level only, nothing is stored.
  private declare readonly checked: true;

  // Stored models carry their moments as a thunk: predictions, the hot path, never read them.
  // A #private field, so that comparing two Weights compares what they state.
  #learned: Moments | (() => Moments);

  private constructor(
    readonly mean: number,
    readonly std: number,
    readonly n: number,
    readonly adjustment: number,
    learned: Moments | (() => Moments),
  ) {
    this.#learned = learned;
  }

  /** The sufficient statistics of the readings learned (not adjusted). */
  get learned(): Moments {
    if (typeof this.#learned === 'function') this.#learned = this.#learned();
    return this.#learned;
  }

  /** Missing readings (null or NaN) are skipped, as the draft skips empty cells. */
  static fromReadings(readings: Iterable<number | null>): Weights {
    const accumulator = new ReadingsAccumulator();
    for (const reading of readings) accumulator.add(reading);
    return Weights.fromAccumulator(accumulator);
  }

  /** A fit: the accumulator's statistics, no adjustment. */
  static fromAccumulator(accumulator: ReadingsAccumulator): Weights {
    return Weights.learnedFrom(accumulator, 1);
  }

  /** Weights known by their mean, std and count only (adjustment 1); see legacyMoments for what merging into them means. */
  static of(mean: number, std: number, n: number): Weights {
    checkStatistics(mean, std, n);
    return new Weights(mean, std, n, 1, legacyMoments(mean, std, n));
  }

  /**
   * Weights as stored. `learned` may be a function, called when (and if) the moments are
   * first needed; it answers undefined for a model stored before they were, whose moments
   * are then derived from its mean, std and n.
   */
  static restore(mean: number, std: number, n: number, adjustment: number, learned: Moments | (() => Moments | undefined) | undefined): Weights {
    checkStatistics(mean, std, n);
    checkAdjustment(adjustment);
    const legacy = () => legacyMoments(mean / adjustment, std, n);
    if (typeof learned === 'function') return new Weights(mean, std, n, adjustment, () => learned() ?? legacy());
    return new Weights(mean, std, n, adjustment, learned ?? legacy());
  }

  /** The adjust rule applied: the effective mean and the factor both multiplied; what was learned stays. */
  adjusted(factor: number): Weights {
    const mean = this.mean * factor;
    const adjustment = this.adjustment * factor;
    if (!Number.isFinite(mean) || !Number.isFinite(adjustment) || adjustment === 0) throw new UnrepresentableWeightsError('adjustment');
    return new Weights(mean, this.std, this.n, adjustment, this.learned);
  }

  /** New readings merged into what was learned (Chan's update, exact sum); the adjustment keeps applying. */
  merged(readings: Moments): Weights {
    const accumulator = ReadingsAccumulator.fromMoments(this.learned);
    accumulator.merge(ReadingsAccumulator.fromMoments(readings));
    return Weights.learnedFrom(accumulator, this.adjustment);
  }

  private static learnedFrom(accumulator: ReadingsAccumulator, adjustment: number): Weights {
    const n = accumulator.n;
    if (!Number.isInteger(n) || n < 2) throw new InsufficientReadingsError(n);
    const learnedMean = accumulator.mean;
    // x * 1 is x: an unadjusted model's mean is the learned one, bit for bit.
    const mean = learnedMean * adjustment;
    const std = accumulator.sampleStd;
    // Readings that fit in a double, scaled past the largest by an operator's adjust: say so.
    if (Number.isFinite(learnedMean) && Number.isFinite(std) && !Number.isFinite(mean)) throw new UnrepresentableWeightsError('adjustment');
    checkStatistics(mean, std, n);
    return new Weights(mean, std, n, adjustment, accumulator.moments());
  }
}

function checkStatistics(mean: number, std: number, n: number): void {
  if (!Number.isInteger(n) || n < 2) throw new InsufficientReadingsError(n);
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) throw new UnrepresentableWeightsError();
}

function checkAdjustment(adjustment: number): void {
  if (!Number.isFinite(adjustment) || adjustment === 0) throw new UnrepresentableWeightsError();
}
