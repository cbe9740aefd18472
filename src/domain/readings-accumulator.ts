export interface Moments {
  readonly n: number;
  readonly mean: number;
  readonly m2: number;
}

/**
 * Streaming mean and sample variance in constant memory. Readings are buffered in small
 * blocks; each full block is summarised with the two-pass formula (the draft's own, and
 * the most accurate) and merged into the running totals with Chan et al.'s pairwise
 * update. That keeps two-pass accuracy with no catastrophic cancellation when readings
 * sit far from zero (1e9 plus small deltas), and costs no division per reading, unlike
 * Welford's update: this loop runs for every cell of a multi-gigabyte file.
 */
export class ReadingsAccumulator {
  private static readonly BLOCK = 256;

  private readonly block = new Float64Array(ReadingsAccumulator.BLOCK);
  private blockLength = 0;
  private count = 0;
  private runningMean = 0;
  private sumOfSquaredDeviations = 0;

  /** Skips missing readings (null or NaN), as the draft skips empty cells. */
  add(reading: number | null): void {
    if (reading === null || reading !== reading) return;
    this.block[this.blockLength++] = reading;
    if (this.blockLength === ReadingsAccumulator.BLOCK) this.mergeBlock();
  }

  get n(): number {
    return this.count + this.blockLength;
  }

  get mean(): number {
    this.mergeBlock();
    return this.count === 0 ? Number.NaN : this.runningMean;
  }

  /** n - 1 denominator, as the draft; undefined (NaN) below two readings. */
  get sampleStd(): number {
    this.mergeBlock();
    return this.count < 2 ? Number.NaN : Math.sqrt(this.sumOfSquaredDeviations / (this.count - 1));
  }

  /** The sufficient statistics: count, mean and sum of squared deviations from the mean. */
  moments(): Moments {
    this.mergeBlock();
    return { n: this.count, mean: this.runningMean, m2: this.sumOfSquaredDeviations };
  }

  static fromMoments({ n, mean, m2 }: Moments): ReadingsAccumulator {
    const accumulator = new ReadingsAccumulator();
    accumulator.combine(n, mean, m2);
    return accumulator;
  }

  /** Adds another accumulator's readings to this one, as if they had been added here. */
  merge(other: ReadingsAccumulator): void {
    const { n, mean, m2 } = other.moments();
    this.mergeBlock();
    this.combine(n, mean, m2);
  }

  private mergeBlock(): void {
    const length = this.blockLength;
    if (length === 0) return;
    const block = this.block;
    let sum = 0;
    for (let index = 0; index < length; index++) sum += block[index]!;
    const blockMean = sum / length;
    let squares = 0;
    for (let index = 0; index < length; index++) {
      const deviation = block[index]! - blockMean;
      squares += deviation * deviation;
    }
    this.blockLength = 0;
    this.combine(length, blockMean, squares);
  }

  /** Chan, Golub and LeVeque's pairwise update: merges (n, mean, m2) of a disjoint set of readings. */
  private combine(n: number, mean: number, m2: number): void {
    if (n === 0) return;
    if (this.count === 0) {
      // Exactly the other's moments: (mean * n) / n need not give back mean in floating point.
      [this.count, this.runningMean, this.sumOfSquaredDeviations] = [n, mean, m2];
      return;
    }
    const total = this.count + n;
    const delta = mean - this.runningMean;
    this.runningMean += (delta * n) / total;
    this.sumOfSquaredDeviations += m2 + (delta * delta * this.count * n) / total;
    this.count = total;
  }
}
