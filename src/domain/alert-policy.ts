import type { Weights } from './weights';

/** A reading is an alert when it reaches `mean + k * std` (inclusive); the case uses k = 2. */
export class AlertPolicy {
  static readonly DEFAULT_K = 2;

  constructor(readonly k: number = AlertPolicy.DEFAULT_K) {
    if (!Number.isFinite(k) || k < 0) throw new RangeError(`k must be a finite number >= 0, got ${k}`);
  }

  threshold(weights: Weights): number {
    return weights.mean + this.k * weights.std;
  }

  isAlert(value: number, weights: Weights): boolean {
    return value >= this.threshold(weights);
  }
}
