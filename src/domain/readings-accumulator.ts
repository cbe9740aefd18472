/**
 * Streaming mean and sample variance (Welford's update): one pass, constant memory, and
 * no catastrophic cancellation when readings sit far from zero (1e9 plus small deltas).
 */
export class ReadingsAccumulator {
  private count = 0;
  private runningMean = 0;
  private sumOfSquaredDeviations = 0;

  /** Skips missing readings (null or NaN), as the draft skips empty cells. */
  add(reading: number | null): void {
    if (reading === null || Number.isNaN(reading)) return;
    this.count += 1;
    const delta = reading - this.runningMean;
    this.runningMean += delta / this.count;
    this.sumOfSquaredDeviations += delta * (reading - this.runningMean);
  }

  get n(): number {
    return this.count;
  }

  get mean(): number {
    return this.count === 0 ? Number.NaN : this.runningMean;
  }

  /** n - 1 denominator, as the draft; undefined (NaN) below two readings. */
  get sampleStd(): number {
    return this.count < 2 ? Number.NaN : Math.sqrt(this.sumOfSquaredDeviations / (this.count - 1));
  }
}
