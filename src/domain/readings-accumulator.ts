import {
  add,
  divideByInteger,
  exponentOf,
  multiplyByInteger,
  scale,
  scaleByPowerOfTwo,
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
 * The buffer starts this small and grows 4x at a time up to BLOCK: a trainer keeps one
 * accumulator per (sensor, column) of every range it reads, and with 100,000 sensors of a
 * few readings each, full 8 KB blocks took 6 GB. 4 (+3 of padding: 56 bytes) keeps it inside
 * V8's heap, where a typed array of up to 64 bytes lives; a larger one costs a separate
 * allocation of several hundred bytes (16 readings: 1.43 GB for those sensors, 4: 0.97 GB).
 */
const FIRST_BLOCK = 4;
/** mergeBlock's certificate: n^2 * largest <= this * smallest makes a block's sum plus compensation exact. */
const CERTIFIED_SPREAD = 2 ** 52;
/** Readings up to this magnitude may take mergeBlock's fast path: no sum, mean or product there can overflow. */
const FAST_MAX = 2 ** 900;
/** Dekker's splitter for binary64: 2^27 + 1. */
const SPLITTER = 134217729;
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
 * 1. its sum, with the rounding errors summed apart (TwoSum: Ogita, Rump and Oishi's Sum2),
 *    and its smallest non-zero and largest magnitude. When these span less than ~2^32 (the
 *    certificate in mergeBlock), sum plus compensation is the block's exact sum. Otherwise
 *    the compensation's own errors are kept too (a second TwoSum cascade), and when those
 *    are not all 0 (a block spanning ~100 bits of magnitudes) or on overflow, the block is
 *    summed exactly reading by reading. Exact block sums go into an ExactSum.
 * 2. the sum of squared deviations from the block's mean (the two-pass formula: positive
 *    terms, accurate to a few ulps), with deviations rescaled by a power of two (exact)
 *    when their squares would overflow or underflow. A block of equal readings has M2 = 0.
 * Blocks are merged into the running M2 with Chan, Golub and LeVeque's pairwise update
 * (M2 = M2a + M2b + delta^2 * na * nb / n, all terms positive), with a running mean in
 * double-double for the deltas; the reported mean comes from the exact sum.
 */
export class ReadingsAccumulator {
  // Three more slots: pass 2 runs to a multiple of 4 over padding (see squaredDeviations).
  private block = new Float64Array(FIRST_BLOCK + 3);
  private blockCapacity = FIRST_BLOCK;
  private blockLength = 0;
  private count = 0;
  private readonly sum = new ExactSum();
  private meanHigh = 0;
  private meanLow = 0;
  private m2High = 0;
  private m2Low = 0;
  private m2Exponent = 0;

  constructor() {
    // A fraction first: V8 then keeps these fields as doubles from the start. A field that
    // starts as a small integer changes the object's hidden class when it first holds a
    // fraction, and code optimised before that is thrown away, in every thread.
    this.meanHigh = this.meanLow = this.m2High = this.m2Low = 0.5;
    this.meanHigh = this.meanLow = this.m2High = this.m2Low = 0;
  }

  /** Skips missing readings (null or NaN), as the draft skips empty cells. */
  add(reading: number | null): void {
    if (reading === null || reading !== reading) return;
    this.block[this.blockLength++] = reading;
    if (this.blockLength === this.blockCapacity) this.blockFull();
  }

  /** Adds readings[start..end) in order, as add() would one by one (missing ones skipped). */
  addAll(readings: Float64Array, start: number, end: number): void {
    for (let index = start; index < end; ) {
      const block = this.block;
      const stop = Math.min(end, index + this.blockCapacity - this.blockLength);
      if (noneMissing(readings, index, stop)) {
        // The usual case, copied in bulk: several times faster than reading by reading.
        block.set(readings.subarray(index, stop), this.blockLength);
        this.blockLength += stop - index;
      } else {
        let length = this.blockLength;
        for (let at = index; at < stop; at++) {
          const reading = readings[at]!;
          if (reading === reading) block[length++] = reading;
        }
        this.blockLength = length;
      }
      index = stop;
      if (this.blockLength === this.blockCapacity) this.blockFull();
    }
  }

  /** A full buffer grows while smaller than BLOCK, and is summarised once it holds BLOCK readings. */
  private blockFull(): void {
    if (this.blockCapacity === BLOCK) {
      this.mergeBlock();
      return;
    }
    this.blockCapacity = Math.min(BLOCK, this.blockCapacity * 4);
    const grown = new Float64Array(this.blockCapacity + 3);
    grown.set(this.block.subarray(0, this.blockLength));
    this.block = grown;
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

  /**
   * Summarises the buffered readings (the hot path: once per 1024 readings). The common case
   * stays in this one function of plain scalar code, cheap to optimise in every thread;
   * anything unusual goes to mergeBlockGenerally.
   *
   * Pass 1 sums with TwoSum, its rounding errors summed apart in `compensation`, and finds
   * the smallest non-zero and the largest magnitude. The certificate: every reading, partial
   * sum and rounding error is a multiple of g = ulp(smallest) > smallest * 2^-53, and the
   * errors' magnitudes add up to at most ~2^-53 * n^2 * largest. When n^2 * largest <= 2^52 *
   * smallest, that is below smallest < 2^53 * g: every partial sum of the errors is a multiple
   * of g below 2^53 g, a double, so `compensation` is their exact sum and sum + compensation
   * the block's exact sum. (A full block may span ~2^32; sums first go wrong past ~2^37, see
   * the unit tests.)
   */
  private mergeBlock(): void {
    const length = this.blockLength;
    if (length === 0) return;
    this.blockLength = 0;
    const block = this.block;

    let sum = 0;
    let compensation = 0;
    let smallest = Number.POSITIVE_INFINITY;
    let largest = 0;
    for (let index = 0; index < length; index++) {
      const reading = block[index]!;
      const total = sum + reading; // TwoSum(sum, reading)
      const totalVirtual = total - sum;
      compensation += sum - (total - totalVirtual) + (reading - totalVirtual);
      sum = total;
      // Comparisons, not Math.min/max: those handle NaN and -0, which cannot occur here, at a cost.
      const magnitude = Math.abs(reading);
      if (magnitude < smallest && magnitude !== 0) smallest = magnitude;
      if (magnitude > largest) largest = magnitude;
    }
    // Not certified, or magnitudes whose sums, mean or squares may need rescaling (also infinities): the general path.
    if (!(largest <= FAST_MAX && length * length * largest <= CERTIFIED_SPREAD * smallest)) {
      this.mergeBlockGenerally(length);
      return;
    }
    this.sum.add(sum);
    this.sum.add(compensation);
    // The mean, (sum + compensation) / length in double-double: TwoSum, then Dekker's division
    // with one correction step (as divideByInteger; length < 2^26 needs no splitting).
    const high = sum + compensation;
    const highVirtual = high - sum;
    const low = sum - (high - highVirtual) + (compensation - highVirtual);
    const quotient = high / length;
    const split = SPLITTER * quotient;
    const quotientHigh = split - (split - quotient);
    const quotientLow = quotient - quotientHigh;
    const product = quotient * length;
    const productError = quotientHigh * length - product + quotientLow * length;
    const remainder = (high - product - productError + low) / length;
    const meanHigh = quotient + remainder;
    const meanLow = remainder - (meanHigh - quotient);

    // Pass 2.
    const squares = squaredDeviations(block, length, meanHigh, meanLow);
    if (squares >= SAFE_SQUARES_MIN && squares <= SAFE_SQUARES_MAX) this.combineStatistics(length, meanHigh, meanLow, squares, 0, 0);
    else this.combineUnusualSquares(length, meanHigh, meanLow);
  }

  /**
   * A block that spans too many magnitudes for mergeBlock's certificate, or holds readings
   * beyond FAST_MAX: its sum is certified by compensating the compensation (a second TwoSum
   * cascade), else computed exactly reading by reading.
   */
  private mergeBlockGenerally(length: number): void {
    const block = this.block;
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

    // Pass 2.
    const [meanHigh, meanLow] = mean;
    const squares = squaredDeviations(block, length, meanHigh, meanLow);
    if (squares >= SAFE_SQUARES_MIN && squares <= SAFE_SQUARES_MAX) this.combineStatistics(length, meanHigh, meanLow, squares, 0, 0);
    else this.combineUnusualSquares(length, meanHigh, meanLow);
  }

  /** A block whose squares summed at unit scale may have overflowed or underflowed. */
  private combineUnusualSquares(length: number, meanHigh: number, meanLow: number): void {
    const block = this.block;
    const first = block[0]!;
    if (block.subarray(0, length).every((reading) => reading === first)) {
      // Equal readings (their squares are 0, or tiny from the mean's last bits): exactly their value and 0.
      this.combineStatistics(length, first, 0, 0, 0, 0);
    } else {
      // Squares that underflow or overflow: rescaled.
      const [m2, m2Exponent] = rescaledSquaredDeviations(block, length, [meanHigh, meanLow]);
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
      this.count = n;
      this.meanHigh = meanHigh;
      this.meanLow = meanLow;
      this.m2High = m2High;
      this.m2Low = m2Low;
      this.m2Exponent = m2Exponent;
      return;
    }
    if (Math.abs(this.meanHigh) > FAST_MAX || Math.abs(meanHigh) > FAST_MAX) {
      this.combineStatisticsGenerally(n, meanHigh, meanLow, m2High, m2Low, m2Exponent);
      return;
    }
    // Means of moderate size (the hot path, once per block): the same arithmetic as
    // combineStatisticsGenerally, written out in scalars (cheap to optimise, nothing allocated);
    // no difference, quotient or product here comes near overflow, so nothing is rescaled.
    const before = this.count;
    const total = before + n;
    const oursHigh = this.meanHigh;
    const oursLow = this.meanLow;
    // delta = (meanHigh, meanLow) - (oursHigh, oursLow): double-double addition (TwoSum of the
    // high parts and of the low parts, then two Fast2Sums).
    const highs = meanHigh - oursHigh;
    const highsVirtual = highs - meanHigh;
    const highsError = meanHigh - (highs - highsVirtual) + (-oursHigh - highsVirtual);
    const lows = meanLow - oursLow;
    const lowsVirtual = lows - meanLow;
    const lowsError = meanLow - (lows - lowsVirtual) + (-oursLow - lowsVirtual);
    const deltaMiddle = highs + (highsError + lows);
    const deltaMiddleLow = highsError + lows - (deltaMiddle - highs);
    const deltaHigh = deltaMiddle + (deltaMiddleLow + lowsError);
    const deltaLow = deltaMiddleLow + lowsError - (deltaHigh - deltaMiddle);
    // step = delta / total (Dekker's division with one correction step) ...
    const quotient = deltaHigh / total;
    const quotientSplit = SPLITTER * quotient;
    const quotientHigh = quotientSplit - (quotientSplit - quotient);
    const quotientLow = quotient - quotientHigh;
    const totalSplit = SPLITTER * total;
    const totalHigh = totalSplit - (totalSplit - total);
    const totalLow = total - totalHigh;
    const product = quotient * total;
    const productError = quotientHigh * totalHigh - product + quotientHigh * totalLow + quotientLow * totalHigh + quotientLow * totalLow;
    const remainder = (deltaHigh - product - productError + deltaLow) / total;
    const stepHigh = quotient + remainder;
    const stepLow = remainder - (stepHigh - quotient);
    // ... times n (Dekker's product) ...
    const stepSplit = SPLITTER * stepHigh;
    const stepHighHigh = stepSplit - (stepSplit - stepHigh);
    const stepHighLow = stepHigh - stepHighHigh;
    const nSplit = SPLITTER * n;
    const nHigh = nSplit - (nSplit - n);
    const nLow = n - nHigh;
    const scaledStep = stepHigh * n;
    const scaledStepError = stepHighHigh * nHigh - scaledStep + stepHighHigh * nLow + stepHighLow * nHigh + stepHighLow * nLow;
    const shiftHigh = scaledStep + (scaledStepError + stepLow * n);
    const shiftLow = scaledStepError + stepLow * n - (shiftHigh - scaledStep);
    // ... added to our mean (double-double addition).
    const sumHighs = oursHigh + shiftHigh;
    const sumHighsVirtual = sumHighs - oursHigh;
    const sumHighsError = oursHigh - (sumHighs - sumHighsVirtual) + (shiftHigh - sumHighsVirtual);
    const sumLows = oursLow + shiftLow;
    const sumLowsVirtual = sumLows - oursLow;
    const sumLowsError = oursLow - (sumLows - sumLowsVirtual) + (shiftLow - sumLowsVirtual);
    const meanMiddle = sumHighs + (sumHighsError + sumLows);
    const meanMiddleLow = sumHighsError + sumLows - (meanMiddle - sumHighs);
    this.meanHigh = meanMiddle + (meanMiddleLow + sumLowsError);
    this.meanLow = meanMiddleLow + sumLowsError - (this.meanHigh - meanMiddle);

    this.addToM2(m2High, m2Exponent);
    this.addToM2(m2Low, m2Exponent);
    this.addSquaredDelta(deltaHigh, (before / total) * n, 0);
    this.count = total;
  }

  /** combineStatistics for means of any size: those near the largest double are merged at a quarter of their size. */
  private combineStatisticsGenerally(n: number, meanHigh: number, meanLow: number, m2High: number, m2Low: number, m2Exponent: number): void {
    const before = this.count;
    const total = before + n;
    // Means near the largest double are merged at a quarter of their size: their difference may overflow.
    const quarter = Math.abs(this.meanHigh) >= SAFE_MAGNITUDE_MAX || Math.abs(meanHigh) >= SAFE_MAGNITUDE_MAX ? 2 : 0;
    const ours = scale([this.meanHigh, this.meanLow], -quarter);
    const delta = subtract(scale([meanHigh, meanLow], -quarter), ours);
    const mean = scale(add(ours, multiplyByInteger(divideByInteger(delta, total), n)), quarter);
    this.meanHigh = mean[0];
    this.meanLow = mean[1];

    this.addToM2(m2High, m2Exponent);
    this.addToM2(m2Low, m2Exponent);
    this.addSquaredDelta(delta[0], (before / total) * n, quarter);
    this.count = total;
  }

  /**
   * Adds delta^2 * weight * 4^exponent to M2 (Chan's delta^2 * na * nb / n); a delta whose square
   * could overflow or underflow is brought near 1 first.
   */
  private addSquaredDelta(delta: number, weight: number, exponent: number): void {
    const magnitude = Math.abs(delta);
    if (magnitude >= SAFE_DELTA_MIN && magnitude <= SAFE_DELTA_MAX) {
      this.addToM2(delta * delta * weight, exponent);
    } else if (delta !== 0) {
      const deltaExponent = exponentOf(delta);
      const reduced = scaleByPowerOfTwo(delta, -deltaExponent);
      this.addToM2(reduced * reduced * weight, deltaExponent + exponent);
    }
  }

  /** Adds value * 4^exponent to M2, keeping M2's scale such that it never overflows. */
  private addToM2(value: number, exponent: number): void {
    if (value === 0) return;
    if (this.m2High === 0 && this.m2Low === 0) {
      this.m2High = value;
      this.m2Low = 0;
      this.m2Exponent = exponent;
    } else {
      let scaled = value;
      if (exponent > this.m2Exponent) {
        this.m2High = scaleByPowerOfTwo(this.m2High, 2 * (this.m2Exponent - exponent));
        this.m2Low = scaleByPowerOfTwo(this.m2Low, 2 * (this.m2Exponent - exponent));
        this.m2Exponent = exponent;
      } else if (exponent < this.m2Exponent) {
        scaled = scaleByPowerOfTwo(value, 2 * (exponent - this.m2Exponent));
      }
      // TwoSum(m2High, scaled), then Fast2Sum with the low parts.
      const high = this.m2High + scaled;
      const highVirtual = high - this.m2High;
      const low = this.m2High - (high - highVirtual) + (scaled - highVirtual) + this.m2Low;
      this.m2High = high + low;
      this.m2Low = low - (this.m2High - high);
    }
    if (this.m2High > M2_RESCALE_ABOVE) {
      this.m2High = scaleByPowerOfTwo(this.m2High, -400);
      this.m2Low = scaleByPowerOfTwo(this.m2Low, -400);
      this.m2Exponent += 200;
    }
  }
}

/** No NaN (missing reading) in readings[start..end). */
function noneMissing(readings: Float64Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const reading = readings[index]!;
    if (reading !== reading) return false;
  }
  return true;
}

/**
 * A block's sum of squared deviations from the mean (meanHigh + meanLow), at unit scale, from
 * the mean's high part in four lanes (fewer roundings, more speed): sum((x - high - low)^2) =
 * sum((x - high)^2) - n * low^2, as sum(x - high) = n * low. The lanes run to a multiple of 4,
 * past `length` over copies of meanHigh (deviation 0): the block has three slots more for them.
 */
function squaredDeviations(block: Float64Array, length: number, meanHigh: number, meanLow: number): number {
  // Always three stores (a loop that runs only for the last, partial block would be
  // optimised without feedback and thrown away there).
  block[length] = meanHigh;
  block[length + 1] = meanHigh;
  block[length + 2] = meanHigh;
  const padded = (length + 3) & ~3;
  let lane0 = 0;
  let lane1 = 0;
  let lane2 = 0;
  let lane3 = 0;
  for (let index = 0; index < padded; index += 4) {
    const d0 = block[index]! - meanHigh;
    const d1 = block[index + 1]! - meanHigh;
    const d2 = block[index + 2]! - meanHigh;
    const d3 = block[index + 3]! - meanHigh;
    lane0 += d0 * d0;
    lane1 += d1 * d1;
    lane2 += d2 * d2;
    lane3 += d3 * d3;
  }
  return lane0 + lane1 + (lane2 + lane3) - length * meanLow * meanLow;
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
