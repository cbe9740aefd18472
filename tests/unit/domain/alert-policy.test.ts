import { AlertPolicy } from '../../../src/domain/alert-policy';
import { Weights } from '../../../src/domain/weights';

describe('AlertPolicy', () => {
  // mean 1, std 0.5: the threshold mean + 2 * std is exactly 2.
  const weights = Weights.of(1, 0.5, 10);
  const policy = new AlertPolicy();

  it('uses k = 2 by default', () => {
    expect(policy.k).toBe(2);
    expect(policy.threshold(weights)).toBe(2);
  });

  it('is inclusive: a reading exactly at mean + 2 * std is an alert', () => {
    expect(policy.isAlert(2, weights)).toBe(true);
  });

  it('does not alert just below the threshold', () => {
    expect(policy.isAlert(1.9999999999999998, weights)).toBe(false);
  });

  it('alerts above the threshold and not below the mean', () => {
    expect(policy.isAlert(2.5, weights)).toBe(true);
    expect(policy.isAlert(0, weights)).toBe(false);
    expect(policy.isAlert(-1e300, weights)).toBe(false);
  });

  it("answers the case's sample: 10 is no alert for [10, 5, 6, 9]", () => {
    expect(policy.isAlert(10, Weights.fromReadings([10, 5, 6, 9]))).toBe(false);
  });

  it('takes another k', () => {
    expect(new AlertPolicy(3).isAlert(2.4, weights)).toBe(false);
    expect(new AlertPolicy(3).isAlert(2.5, weights)).toBe(true);
  });

  it('keeps a finite threshold when 2 * std alone overflows (a large negative mean)', () => {
    // Python's statistics.mean/stdev of [-1.7976931348623157e308, -2.976931348623157e307], and
    // float(Fraction(mean) + 2 * Fraction(std)) for the threshold.
    const wide = Weights.of(-1.0476931348623157e308, 1.0606601717798214e308, 2);
    expect(Number.isFinite(2 * wide.std)).toBe(false);
    expect(policy.threshold(wide)).toBe(1.073627208697327e308);
    expect(policy.isAlert(1.5e308, wide)).toBe(true);
    expect(policy.isAlert(1.07e308, wide)).toBe(false);
    expect(policy.isAlert(1.5e308, Weights.fromReadings([-1.7976931348623157e308, -2.976931348623157e307]))).toBe(true);
  });

  it('says Infinity only when the threshold itself overflows', () => {
    expect(policy.threshold(Weights.of(1e308, 1e308, 2))).toBe(Number.POSITIVE_INFINITY);
  });

  describe('zScore', () => {
    it('is (value - mean) / std, signed', () => {
      expect(policy.zScore(2, weights)).toBe(2);
      expect(policy.zScore(0, weights)).toBe(-2);
      expect(policy.zScore(1, weights)).toBe(0);
    });

    it('is null when std is 0', () => {
      expect(policy.zScore(3, Weights.of(3, 0, 2))).toBeNull();
      expect(policy.zScore(4, Weights.of(3, 0, 2))).toBeNull();
    });

    it('stays finite when value - mean alone overflows', () => {
      // mean -2^1023, std 2^1023, value 1.5 * 2^1023: value - mean is 2.5 * 2^1023, past the
      // largest double, and the z-score exactly 2.5.
      expect(policy.zScore(1.5 * 2 ** 1023, Weights.of(-(2 ** 1023), 2 ** 1023, 2))).toBe(2.5);
      // Fitted on [-1.5e308, 0], then 1.7e308. Python: float((Fraction(1.7e308) - Fraction(mean)) / Fraction(std))
      // with the stored mean and std gives 2.3098821518760553; two roundings here, so within an ulp.
      const wide = Weights.fromReadings([-1.5e308, 0]);
      expect(Math.abs(policy.zScore(1.7e308, wide)! - 2.3098821518760553)).toBeLessThanOrEqual(2 ** -51);
    });

    it('is null when the z-score itself exceeds the largest double', () => {
      expect(policy.zScore(1e308, Weights.of(0, 5e-324, 2))).toBeNull();
      expect(policy.zScore(-1e308, Weights.of(1e308, 1e-10, 2))).toBeNull();
    });
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses k = %p', (k) => {
    expect(() => new AlertPolicy(k)).toThrow(RangeError);
  });
});
