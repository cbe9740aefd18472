/**
 * Exact statistics of doubles, in BigInt rational arithmetic: the oracle the product's
 * floating-point statistics are held to. It shares no code with the product. Every finite
 * double is an integer multiple of 2^-1074, so readings are summed as integers scaled by
 * 2^1074; the mean is S / n and M2 = sum((n * v - S)^2) / n^2, both exact, as Python's
 * `statistics` module computes them with fractions.
 */
/** x * 2^1074, exactly. */
export function scaledInteger(x: number): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`not finite: ${x}`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const exponentBits = (bits >> 52n) & 0x7ffn;
  const fraction = bits & ((1n << 52n) - 1n);
  const magnitude = exponentBits === 0n ? fraction : (fraction | (1n << 52n)) << (exponentBits - 1n);
  return negative ? -magnitude : magnitude;
}

export interface ExactStatistics {
  readonly n: bigint;
  /** The sum of the readings, times 2^1074. */
  readonly sum: bigint;
  /** sum((n * v - S)^2) where v, S are scaled by 2^1074: M2 = this / (n^2 * 2^2148). */
  readonly squares: bigint;
}

export function exactStatistics(readings: ReadonlyArray<number | null>): ExactStatistics {
  const present = readings.filter((reading): reading is number => reading !== null && !Number.isNaN(reading)).map(scaledInteger);
  const n = BigInt(present.length);
  const sum = present.reduce((total, value) => total + value, 0n);
  const squares = present.reduce((total, value) => total + (n * value - sum) ** 2n, 0n);
  return { n, sum, squares };
}

const abs = (value: bigint) => (value < 0n ? -value : value);

/** The spacing of doubles at `x`, times 2^1074. */
function scaledUlp(x: number): bigint {
  const magnitude = abs(scaledInteger(x));
  if (magnitude < 1n << 53n) return 1n; // subnormal (or the smallest normal binade): ulp is 2^-1074
  return 1n << BigInt(magnitude.toString(2).length - 53);
}

/** |stored - exact mean| in ulps of `stored` (to 1/1000 of an ulp). */
export function meanErrorInUlps(stored: number, readings: ReadonlyArray<number | null>): number {
  const { n, sum } = exactStatistics(readings);
  const difference = abs(scaledInteger(stored) * n - sum);
  return Number((difference * 1000n) / (scaledUlp(stored) * n)) / 1000;
}

/**
 * The relative error of `stored` as the sample standard deviation: |s - sqrt(V)| / sqrt(V),
 * from |s^2 - V| / V = |(1 + e)^2 - 1| exactly (to 1e-20). 0 when both are 0, Infinity when
 * only V is.
 */
export function stdRelativeError(stored: number, readings: ReadonlyArray<number | null>): number {
  const { n, squares } = exactStatistics(readings);
  if (squares === 0n) return stored === 0 ? 0 : Number.POSITIVE_INFINITY;
  const storedSquare = scaledInteger(stored) ** 2n; // s^2 * 2^2148
  const squareError = Number(((storedSquare * n * n * (n - 1n) - squares) * 10n ** 20n) / squares) / 1e20; // (s^2 - V) / V
  return Math.abs(squareError) < 1e-6 ? Math.abs(squareError) / 2 : Math.abs(Math.sqrt(1 + squareError) - 1);
}

/** The exact sample standard deviation rounded to a double (within an ulp), for expected values. */
export function exactStd(readings: ReadonlyArray<number | null>): number {
  const { n, squares } = exactStatistics(readings);
  // V = squares / (n^2 (n - 1) 2^2148), so sqrt(V) = sqrt(squares * 4^k / (n^2 (n - 1))) * 2^-(1074 + k),
  // with k such that the integer square root has ~120 bits.
  const denominator = n * n * (n - 1n);
  const k = Math.floor((240 - (bitLength(squares) - bitLength(denominator))) / 2);
  const scaled = k >= 0 ? (squares << BigInt(2 * k)) / denominator : squares / denominator >> BigInt(-2 * k);
  return timesPowerOfTwo(Number(integerSqrt(scaled)), -(1074 + k));
}

/** The exact mean rounded to a double (within an ulp), for expected values. */
export function exactMean(readings: ReadonlyArray<number | null>): number {
  const { n, sum } = exactStatistics(readings);
  const k = 120 - (bitLength(abs(sum)) - bitLength(n)); // a quotient of ~120 bits
  const quotient = k >= 0 ? (sum << BigInt(k)) / n : sum / n / (1n << BigInt(-k));
  return timesPowerOfTwo(Number(quotient), -(1074 + k));
}

const bitLength = (value: bigint) => value.toString(2).length;

function integerSqrt(value: bigint): bigint {
  if (value < 2n) return value;
  let x = 1n << BigInt(Math.ceil(value.toString(2).length / 2));
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
