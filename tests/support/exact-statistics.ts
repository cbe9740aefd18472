/**
 * Exact statistics of doubles, in BigInt rational arithmetic: the oracle the product's
 * floating-point statistics are held to. It shares no code with the product. Every finite
 * double is an integer times a power of two, so readings are summed as integers scaled by
 * 2^-E, E the lowest exponent in play; the mean is S / n and M2 = sum((n * v - S)^2) / n^2,
 * both exact, as Python's `statistics` module computes them with fractions.
 */

// Views of one double's bits (typed arrays: much faster than a DataView inside Jest's sandbox).
const double = new Float64Array(1);
const words = new Uint32Array(double.buffer);
const bits = new BigUint64Array(double.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: the high word is second

/** The exponent of x's last mantissa bit: x = mantissa * 2^exponent with an integer mantissa. */
function exponentOf(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`not finite: ${x}`);
  double[0] = x;
  const exponentBits = (words[HIGH_WORD]! >>> 20) & 0x7ff;
  return (exponentBits === 0 ? 1 : exponentBits) - 1075;
}

/** x = mantissa * 2^exponent exactly, with an integer mantissa (0 for 0). */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const exponent = exponentOf(x);
  const fraction = bits[0]! & 0xfffffffffffffn;
  const magnitude = ((words[HIGH_WORD]! >>> 20) & 0x7ff) === 0 ? fraction : fraction | 0x10000000000000n;
  return { mantissa: words[HIGH_WORD]! >>> 31 === 1 ? -magnitude : magnitude, exponent };
}

/** x * 2^-exponent, exactly (x must be a multiple of 2^exponent). */
function scaled(x: number, exponent: number): bigint {
  const parts = decompose(x);
  return parts.mantissa << BigInt(parts.exponent - exponent);
}

const present = (readings: ReadonlyArray<number | null>) => readings.filter((reading): reading is number => reading !== null && !Number.isNaN(reading));

/** The lowest exponent of the readings and of `others`: every one of them is a multiple of 2^that. */
function lowestExponent(readings: readonly number[], others: readonly number[] = []): number {
  let lowest = Number.POSITIVE_INFINITY;
  // 0 is a multiple of any power of two: it does not lower the exponent.
  for (const value of readings) if (value !== 0) lowest = Math.min(lowest, exponentOf(value));
  for (const value of others) if (value !== 0) lowest = Math.min(lowest, exponentOf(value));
  return Number.isFinite(lowest) ? lowest : 0;
}

interface Exact {
  readonly n: bigint;
  /** The sum of the readings, times 2^-exponent. */
  readonly sum: bigint;
  /** sum((n * v - S)^2) with v, S times 2^-exponent: M2 = this / (n^2 * 4^-exponent). */
  readonly squares: bigint;
  readonly exponent: number;
}

function exact(readings: ReadonlyArray<number | null>, others: readonly number[] = []): Exact {
  const values = present(readings);
  const exponent = lowestExponent(values, others);
  const n = BigInt(values.length);
  const integers = new Array<bigint>(values.length);
  let sum = 0n;
  for (let index = 0; index < values.length; index++) sum += integers[index] = scaled(values[index]!, exponent);
  let squares = 0n;
  for (const value of integers) {
    const deviation = n * value - sum;
    squares += deviation * deviation;
  }
  return { n, sum, squares, exponent };
}

/** Whether the exact sample variance is 0 (all readings equal). */
export function exactlyEqual(readings: ReadonlyArray<number | null>): boolean {
  return exact(readings).squares === 0n;
}

const abs = (value: bigint) => (value < 0n ? -value : value);

/** The spacing of doubles at `x` (0 included), as a power of two's exponent. */
function ulpExponent(x: number): number {
  const { mantissa, exponent } = decompose(x);
  const bits = abs(mantissa).toString(2).length;
  return bits < 53 ? -1074 : exponent; // subnormal (or 0): 2^-1074
}

/** |stored - exact mean| in ulps of `stored` (to 1/1000 of an ulp). */
export function meanErrorInUlps(stored: number, readings: ReadonlyArray<number | null>): number {
  const ulp = ulpExponent(stored);
  const { n, sum, exponent } = exact(readings, [stored, 2 ** Math.max(ulp, -1074)]);
  const difference = abs(scaled(stored, exponent) * n - sum);
  return Number((difference * 1000n) / ((1n << BigInt(ulp - exponent)) * n)) / 1000;
}

/**
 * The relative error of `stored` as the sample standard deviation: |s - sqrt(V)| / sqrt(V),
 * from (s^2 - V) / V exactly (to 1e-20). 0 when both are 0, Infinity when only V is.
 */
export function stdRelativeError(stored: number, readings: ReadonlyArray<number | null>): number {
  const { n, squares, exponent } = exact(readings, [stored]);
  if (squares === 0n) return stored === 0 ? 0 : Number.POSITIVE_INFINITY;
  const storedSquare = scaled(stored, exponent) ** 2n; // s^2 * 4^-exponent
  const squareError = Number(((storedSquare * n * n * (n - 1n) - squares) * 10n ** 20n) / squares) / 1e20; // (s^2 - V) / V
  return Math.abs(squareError) < 1e-6 ? Math.abs(squareError) / 2 : Math.abs(Math.sqrt(1 + squareError) - 1);
}

/** The exact sample standard deviation rounded to a double (within an ulp), for expected values. */
export function exactStd(readings: ReadonlyArray<number | null>): number {
  const { n, squares, exponent } = exact(readings);
  // V = squares / (n^2 (n - 1)) * 4^exponent, so sqrt(V) = sqrt(squares * 4^k / (n^2 (n - 1))) * 2^(exponent - k),
  // with k such that the integer square root has ~120 bits.
  const denominator = n * n * (n - 1n);
  const k = Math.floor((240 - (bitLength(squares) - bitLength(denominator))) / 2);
  const scaledSquares = k >= 0 ? (squares << BigInt(2 * k)) / denominator : squares / denominator >> BigInt(-2 * k);
  return timesPowerOfTwo(Number(integerSqrt(scaledSquares)), exponent - k);
}

/** The exact mean rounded to a double (within an ulp), for expected values. */
export function exactMean(readings: ReadonlyArray<number | null>): number {
  const { n, sum, exponent } = exact(readings);
  const k = 120 - (bitLength(abs(sum)) - bitLength(n)); // a quotient of ~120 bits
  const quotient = k >= 0 ? (sum << BigInt(k)) / n : sum / n / (1n << BigInt(-k));
  return timesPowerOfTwo(Number(quotient), exponent - k);
}

const bitLength = (value: bigint) => value.toString(2).length;

function integerSqrt(value: bigint): bigint {
  if (value < 2n) return value;
  let x = 1n << BigInt(Math.ceil(bitLength(value) / 2));
  for (;;) {
    const next = (x + value / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

function timesPowerOfTwo(x: number, exponent: number): number {
  let result = x;
  let left = exponent;
  for (; left > 1000; left -= 1000) result *= 2 ** 1000;
  for (; left < -1000; left += 1000) result *= 2 ** -1000;
  return result * 2 ** left;
}
