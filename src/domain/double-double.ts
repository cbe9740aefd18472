/**
 * Error-free transformations and double-double arithmetic (a value as the unevaluated sum
 * of two doubles, ~106 bits), the tools of exact floating-point statistics. Sources: Knuth,
 * TAOCP vol. 2, 4.2.2 (TwoSum); Dekker, "A floating-point technique for extending the
 * available precision" (1971: Fast2Sum, TwoProduct); Ogita, Rump and Oishi, "Accurate sum
 * and dot product" (2005).
 */

/** high + low with |low| <= ulp(high) / 2. */
export type DoubleDouble = readonly [high: number, low: number];

/** Dekker's splitter for binary64: 2^27 + 1. */
const SPLITTER = 134217729;
/** Above this, SPLITTER * a or a product of split halves may overflow. */
const SPLIT_MAX = 2 ** 960;

/** Knuth's TwoSum: a + b exactly, as the rounded sum and its rounding error. */
export function twoSum(a: number, b: number): [number, number] {
  const sum = a + b;
  const virtual = sum - a;
  return [sum, a - (sum - virtual) + (b - virtual)];
}

/** Dekker's Fast2Sum, for |a| >= |b| (or a = 0). */
export function fastTwoSum(a: number, b: number): [number, number] {
  const sum = a + b;
  return [sum, b - (sum - a)];
}

/** Dekker's TwoProduct: a * b exactly, as the rounded product and its rounding error. */
export function twoProduct(a: number, b: number): [number, number] {
  const product = a * b;
  if (Math.abs(product) > SPLIT_MAX || Math.abs(a) > SPLIT_MAX) {
    // Splitting would overflow: the same at 2^-64 of the size, scaled back exactly.
    const [scaledProduct, error] = twoProduct(a * 2 ** -64, b);
    return [scaledProduct * 2 ** 64, error * 2 ** 64];
  }
  const [aHigh, aLow] = split(a);
  const [bHigh, bLow] = split(b);
  return [product, aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow];
}

function split(a: number): [number, number] {
  const scaled = SPLITTER * a;
  const high = scaled - (scaled - a);
  return [high, a - high];
}

export function add([aHigh, aLow]: DoubleDouble, [bHigh, bLow]: DoubleDouble): DoubleDouble {
  const [high, error] = twoSum(aHigh, bHigh);
  const [low, lowError] = twoSum(aLow, bLow);
  const [high2, low2] = fastTwoSum(high, error + low);
  return fastTwoSum(high2, low2 + lowError);
}

export function subtract(a: DoubleDouble, [bHigh, bLow]: DoubleDouble): DoubleDouble {
  return add(a, [-bHigh, -bLow]);
}

/** a * n for an integer n < 2^53. */
export function multiplyByInteger([high, low]: DoubleDouble, n: number): DoubleDouble {
  const [product, error] = twoProduct(high, n);
  return fastTwoSum(product, error + low * n);
}

/** a / n for an integer n < 2^53: Dekker's division with one correction step. */
export function divideByInteger([high, low]: DoubleDouble, n: number): DoubleDouble {
  if (Math.abs(high) > SPLIT_MAX && Number.isFinite(high)) return scale(divideByInteger(scale([high, low], -64), n), 64);
  const quotient = high / n;
  const [product, error] = twoProduct(quotient, n);
  const remainder = high - product - error + low;
  return fastTwoSum(quotient, remainder / n);
}

/** a * 2^exponent, exact but for parts that fall below the smallest subnormal. */
export function scale([high, low]: DoubleDouble, exponent: number): DoubleDouble {
  return exponent === 0 ? [high, low] : [scaleByPowerOfTwo(high, exponent), scaleByPowerOfTwo(low, exponent)];
}

/**
 * x * 2^exponent for any integer exponent, in steps that keep each power of two a double,
 * rounded once: a result in the subnormal range is the nearest subnormal to the exact one.
 */
export function scaleByPowerOfTwo(x: number, exponent: number): number {
  let result = x;
  let left = exponent;
  for (; left > 1000; left -= 1000) result *= 2 ** 1000;
  if (left < -1000 && result !== 0 && Number.isFinite(result)) {
    // Steps down round each time once the result is subnormal: go exactly as far as the
    // smallest normal binade, so that only the last step rounds.
    let exactly = Math.max(left, Math.min(0, -1022 - exponentOf(result)));
    left -= exactly;
    for (; exactly < -1000; exactly += 1000) result *= 2 ** -1000;
    result *= 2 ** exactly;
  }
  return result * 2 ** left;
}

/** floor(log2(|x|)) for a finite x other than 0. */
export function exponentOf(x: number): number {
  const magnitude = Math.abs(x);
  let exponent = Math.floor(Math.log2(magnitude));
  if (scaleByPowerOfTwo(1, exponent) > magnitude) exponent--;
  else if (scaleByPowerOfTwo(1, exponent + 1) <= magnitude) exponent++;
  return exponent;
}
