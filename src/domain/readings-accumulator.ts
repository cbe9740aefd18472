import {
  add,
  divideByInteger,
  exponentOf,
  multiplyByInteger,
  scale,
  scaleByPowerOfTwo,
  fastTwoSum,
  subtract,
  twoSum,
  type DoubleDouble,
} from './double-double';
import { ExactSum, type ExactSumParts } from './exact-sum';

/**
 * The sufficient statistics of a set of readings, mergeable with another set's: the count,
 * the exact sum, the mean as a double-double, and the sum of squared deviations from the
 * mean, M2 = (m2High + m2Low) * 4^m2Exponent, scaled by a power of two so that neither huge
 * nor tiny readings overflow or underflow it. Plain data: it crosses worker threads.
 */
export interface Moments {
  readonly n: number;
  readonly sum: ExactSumParts;
  readonly meanHigh: number;
  readonly meanLow: number;
  readonly m2High: number;
  readonly m2Low: number;
  readonly m2Exponent: number;
}

const BLOCK = 1024;
/**
 * A block's squares summed at unit scale are used as they are between these bounds: above,
 * sums of them could overflow; below, some squares may have lost digits to underflow.
 */
const SAFE_SQUARES_MIN = 2 ** -900;
const SAFE_SQUARES_MAX = 2 ** 900;
/** Deviations of readings or means above this may overflow: they are taken at a quarter of their size. */
const SAFE_MAGNITUDE_MAX = 2 ** 1000;
/** Deltas between means whose squares, times a count below 2^53, stay within the safe squares. */
const SAFE_DELTA_MIN = 2 ** -400;
const SAFE_DELTA_MAX = 2 ** 400;
/** Running M2 is rescaled past this, so that adding more squares (each below it) never overflows. */
const M2_RESCALE_ABOVE = SAFE_SQUARES_MAX;

/**
 * Streaming mean and sample variance in constant memory, exact to the last bits for any
 * finite readings (the anchor is Python's `statistics`, which computes with fractions):
 * the mean within 1 ulp of the exact mean (the exact sum divided by n in double-double,
 * then rounded once), the sample standard deviation within a few ulps, and exactly 0 when
 * all readings are equal.
 *
 * Readings are buffered in blocks of 1024. Each block is summarised in two passes:
 * 1. its sum, with every rounding error kept twice over (a TwoSum cascade: Ogita, Rump and
 *    Oishi's Sum2 with the compensation itself compensated). When the second-level errors
 *    are all 0, which holds unless the block spans ~100 bits of magnitudes, sum plus
 *    compensation is the block's exact sum; otherwise (or on overflow) the block is summed
 *    exactly reading by reading. Exact block sums go into an ExactSum.
 * 2. the sum of squared deviations from the block's mean (the two-pass formula: positive
 *    terms, accurate to a few ulps), with deviations rescaled by a power of two (exact)
 *    when their squares would overflow or underflow. A block of equal readings has M2 = 0.
 * Blocks are merged into the running M2 with Chan, Golub and LeVeque's pairwise update
 * (M2 = M2a + M2b + delta^2 * na * nb / n, all terms positive), with a running mean in
 * double-double for the deltas; the reported mean comes from the exact sum.
 */
export class ReadingsAccumulator {
  private readonly block = new Float64Array(BLOCK);
  private blockLength = 0;
  private count = 0;
  private readonly sum = new ExactSum();
  private meanHigh = 0;
  private meanLow = 0;
  private m2High = 0;
  private m2Low = 0;
  private m2Exponent = 0;

  /** Skips missing readings (null or NaN), as the draft skips empty cells. */
  add(reading: number | null): void {
    if (reading === null || reading !== reading) return;
    this.block[this.blockLength++] = reading;
    if (this.blockLength === BLOCK) this.mergeBlock();
  }

  get n(): number {
    return this.count + this.blockLength;
  }

  /** The mean: the exact sum divided by n, rounded to the nearest double (NaN without readings). */
  get mean(): number {
    this.mergeBlock();
    return this.count === 0 ? Number.NaN : this.sum.divideBy(this.count)[0];
  }

  /**
   * The sample standard deviation, sqrt(M2 / (n - 1)) as the draft; NaN below two readings,
   * Infinity when it exceeds the largest double.
   */
  get sampleStd(): number {
    this.mergeBlock();
    if (this.count < 2) return Number.NaN;
    const variance = (this.m2High + this.m2Low) / (this.count - 1);
    return scaleByPowerOfTwo(Math.sqrt(variance), this.m2Exponent);
  }

  moments(): Moments {
    this.mergeBlock();
    const { count: n, meanHigh, meanLow, m2High, m2Low, m2Exponent } = this;
    return { n, sum: this.sum.parts(), meanHigh, meanLow, m2High, m2Low, m2Exponent };
  }

  static fromMoments(moments: Moments): ReadingsAccumulator {
    const accumulator = new ReadingsAccumulator();
    accumulator.combine(moments);
    return accumulator;
  }

  /** Adds another accumulator's readings to this one, as if they had been added here. */
  merge(other: ReadingsAccumulator): void {
    const moments = other.moments();
    this.mergeBlock();
    this.combine(moments);
  }

  private mergeBlock(): void {
    const length = this.blockLength;
    if (length === 0) return;
    this.blockLength = 0;
    const block = this.block;
    const first = block[0]!;

    // Pass 1: the sum, its rounding errors in `compensation`, and theirs in `residue`.
    let sum = 0;
    let compensation = 0;
    let residue = 0;
    for (let index = 0; index < length; index++) {
      const reading = block[index]!;
      const total = sum + reading; // TwoSum(sum, reading)
      const totalVirtual = total - sum;
      const error = sum - (total - totalVirtual) + (reading - totalVirtual);
      sum = total;
      const corrected = compensation + error; // TwoSum(compensation, error)
      const correctedVirtual = corrected - compensation;
      residue += Math.abs(compensation - (corrected - correctedVirtual) + (error - correctedVirtual));
      compensation = corrected;
    }
    let mean: DoubleDouble;
    if (residue === 0 && Number.isFinite(sum)) {
      this.sum.add(sum);
      this.sum.add(compensation);
      mean = divideByInteger(twoSum(sum, compensation), length);
    } else {
      const exact = new ExactSum();
      for (let index = 0; index < length; index++) exact.add(block[index]!);
      this.sum.merge(exact.parts());
      mean = exact.divideBy(length);
    }

    // Pass 2: squared deviations from the mean's high part, in four lanes (fewer roundings, more
    // speed); sum((x - high - low)^2) = sum((x - high)^2) - n * low^2, as sum(x - high) = n * low.
    const [meanHigh, meanLow] = mean;
    let lane0 = 0;
    let lane1 = 0;
    let lane2 = 0;
    let lane3 = 0;
    let index = 0;
    for (; index + 3 < length; index += 4) {
      const d0 = block[index]! - meanHigh;
      const d1 = block[index + 1]! - meanHigh;
      const d2 = block[index + 2]! - meanHigh;
      const d3 = block[index + 3]! - meanHigh;
      lane0 += d0 * d0;
      lane1 += d1 * d1;
      lane2 += d2 * d2;
      lane3 += d3 * d3;
    }
    for (; index < length; index++) {
      const deviation = block[index]! - meanHigh;
      lane0 += deviation * deviation;
    }
    const squares = lane0 + lane1 + (lane2 + lane3) - length * meanLow * meanLow;
    if (squares >= SAFE_SQUARES_MIN && squares <= SAFE_SQUARES_MAX) {
      this.combineStatistics(length, meanHigh, meanLow, squares, 0, 0);
    } else if (block.subarray(0, length).every((reading) => reading === first)) {
      // Equal readings (their squares are 0, or tiny from the mean's last bits): exactly their value and 0.
      this.combineStatistics(length, first, 0, 0, 0, 0);
    } else {
      // Squares that underflow or overflow: rescaled.
      const [m2, m2Exponent] = rescaledSquaredDeviations(block, length, mean);
      this.combineStatistics(length, meanHigh, meanLow, m2, 0, m2Exponent);
    }
  }

  /** Merges the moments of a disjoint set of readings. */
  private combine(other: Moments): void {
    this.sum.merge(other.sum);
    this.combineStatistics(other.n, other.meanHigh, other.meanLow, other.m2High, other.m2Low, other.m2Exponent);
  }

  /** Chan, Golub and LeVeque's pairwise update, in double-double, of count, mean and M2. */
  private combineStatistics(n: number, meanHigh: number, meanLow: number, m2High: number, m2Low: number, m2Exponent: number): void {
    if (n === 0) return;
    if (this.count === 0) {
      [this.count, this.meanHigh, this.meanLow, this.m2High, this.m2Low, this.m2Exponent] = [n, meanHigh, meanLow, m2High, m2Low, m2Exponent];
      return;
    }
    const before = this.count;
    const total = before + n;
    // Means near the largest double are merged at a quarter of their size: their difference may overflow.
    const quarter = Math.abs(this.meanHigh) >= SAFE_MAGNITUDE_MAX || Math.abs(meanHigh) >= SAFE_MAGNITUDE_MAX ? 2 : 0;
    const ours = scale([this.meanHigh, this.meanLow], -quarter);
    const delta = subtract(scale([meanHigh, meanLow], -quarter), ours);
    [this.meanHigh, this.meanLow] = scale(add(ours, multiplyByInteger(divideByInteger(delta, total), n)), quarter);

    this.addToM2(m2High, m2Exponent);
    this.addToM2(m2Low, m2Exponent);
    // delta^2 * na * nb / n; a delta whose square could overflow or underflow is brought near 1 first.
    const [deltaHigh] = delta;
    const weight = (before / total) * n;
    const magnitude = Math.abs(deltaHigh);
    if (magnitude >= SAFE_DELTA_MIN && magnitude <= SAFE_DELTA_MAX) {
      this.addToM2(deltaHigh * deltaHigh * weight, quarter);
    } else if (deltaHigh !== 0) {
      const exponent = exponentOf(deltaHigh);
      const reduced = scaleByPowerOfTwo(deltaHigh, -exponent);
      this.addToM2(reduced * reduced * weight, exponent + quarter);
    }
    this.count = total;
  }

  /** Adds value * 4^exponent to M2, keeping M2's scale such that it never overflows. */
  private addToM2(value: number, exponent: number): void {
    if (value === 0) return;
    if (this.m2High === 0 && this.m2Low === 0) {
      [this.m2High, this.m2Low, this.m2Exponent] = [value, 0, exponent];
    } else {
      let scaled = value;
      if (exponent > this.m2Exponent) {
        [this.m2High, this.m2Low] = scale([this.m2High, this.m2Low], 2 * (this.m2Exponent - exponent));
        this.m2Exponent = exponent;
      } else if (exponent < this.m2Exponent) {
        scaled = scaleByPowerOfTwo(value, 2 * (exponent - this.m2Exponent));
      }
      const [high, low] = twoSum(this.m2High, scaled);
      [this.m2High, this.m2Low] = fastTwoSum(high, low + this.m2Low);
    }
    if (this.m2High > M2_RESCALE_ABOVE) {
      [this.m2High, this.m2Low] = scale([this.m2High, this.m2Low], -400);
      this.m2Exponent += 200;
    }
  }
}

/**
 * A block's sum of squared deviations from `mean` as [m2, exponent], M2 = m2 * 4^exponent:
 * each deviation is scaled by the power of two that brings the largest near 1 (exact), so
 * that the squares neither overflow nor underflow. Readings or means near the largest
 * double are first taken at a quarter of their size, so that deviations cannot overflow.
 */
function rescaledSquaredDeviations(block: Float64Array, length: number, mean: DoubleDouble): [number, number] {
  let largestReading = Math.abs(mean[0]);
  for (let index = 0; index < length; index++) largestReading = Math.max(largestReading, Math.abs(block[index]!));
  const quarter = largestReading >= SAFE_MAGNITUDE_MAX ? 2 : 0;
  const factor = 2 ** -quarter;
  const [meanHigh, meanLow] = scale(mean, -quarter);
  let largest = 0;
  for (let index = 0; index < length; index++) largest = Math.max(largest, Math.abs(block[index]! * factor - meanHigh - meanLow));
  if (largest === 0) return [0, 0];
  const exponent = exponentOf(largest);
  let squares = 0;
  for (let index = 0; index < length; index++) {
    const deviation = scaleByPowerOfTwo(block[index]! * factor - meanHigh - meanLow, -exponent);
    squares += deviation * deviation;
  }
  return [squares, exponent + quarter];
}
