import { exponentOf, multiplyByInteger, scaleByPowerOfTwo, twoProduct } from './double-double';
import type { Moments } from './readings-accumulator';

/** Products from this magnitude up are kept at 2^-128 of their size, as ExactSum keeps huge readings. */
const HUGE = 2 ** 960;
const HUGE_SCALE = 128;

/**
 * The sufficient statistics of a model known only by its mean, sample std and count (a model
 * stored before schema 2, or built with Weights.of): the sum is mean * n exactly (a two-part
 * expansion), the mean is `mean`, and M2 = std^2 * (n - 1), kept as a double-double at the
 * scale of std so that it neither overflows nor underflows. Merging into them is as exact as
 * those three stored doubles allow: the readings behind them are gone.
 */
export function legacyMoments(mean: number, std: number, n: number): Moments {
  const huge = Math.abs(mean) * 2 ** -HUGE_SCALE * n >= HUGE * 2 ** -HUGE_SCALE;
  const partials = huge ? twoProduct(mean * 2 ** -HUGE_SCALE, n) : twoProduct(mean, n);
  // An expansion lists its partials from the smallest up, without zeros (-0 included).
  const parts = [partials[1], partials[0]].filter((partial) => partial !== 0);
  const exponent = std === 0 ? 0 : exponentOf(std);
  const reduced = scaleByPowerOfTwo(std, -exponent);
  const [m2High, m2Low] = std === 0 ? [0, 0] : multiplyByInteger(twoProduct(reduced, reduced), n - 1);
  return {
    n,
    sum: huge ? { normal: [], huge: parts } : { normal: parts, huge: [] },
    meanHigh: mean === 0 ? 0 : mean,
    meanLow: 0,
    m2High,
    m2Low: m2Low === 0 ? 0 : m2Low,
    m2Exponent: exponent,
  };
}
