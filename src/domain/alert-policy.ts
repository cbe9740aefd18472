import type { Weights } from './weights';

/** A reading is an alert when it reaches `mean + k * std` (inclusive); the case uses k = 2. */
export class AlertPolicy {
  static readonly DEFAULT_K = 2;

  constructor(readonly k: number = AlertPolicy.DEFAULT_K) {
    if (!Number.isFinite(k) || k < 0) throw new RangeError(`k must be a finite number >= 0, got ${k}`);
  }

  /**
   * mean + k * std, rounded as if the exponent range were unbounded: when k * std alone
   * overflows but the threshold does not (a large negative mean), it is computed at half
   * scale, which is exact for numbers that large. Infinity only when the threshold itself
   * exceeds the largest double.
   */
  threshold(weights: Weights): number {
    const spread = this.k * weights.std;
    if (Number.isFinite(spread)) return weights.mean + spread;
    return 2 * (weights.mean / 2 + this.k * (weights.std / 2));
  }

  isAlert(value: number, weights: Weights): boolean {
    return value >= this.threshold(weights);
  }

  /**
   * The z-score (value - mean) / std: how many standard deviations `value` lies from the mean.
   * Computed at half scale when value - mean alone overflows (halving numbers that large is
   * exact, so the result is the same). Null when std is 0, or when the z-score itself exceeds
   * the largest double.
   */
  zScore(value: number, weights: Weights): number | null {
    if (weights.std === 0) return null;
    let z = (value - weights.mean) / weights.std;
    if (!Number.isFinite(z)) z = (value / 2 - weights.mean / 2) / (weights.std / 2);
    return Number.isFinite(z) ? z : null;
  }
}
