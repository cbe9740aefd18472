import { add, divideByInteger, scale, type DoubleDouble } from './double-double';

/** Readings from this magnitude up are summed at 2^-128 of their size, so that no partial sum overflows. */
const HUGE = 2 ** 960;
const HUGE_SCALE = 128;
/**
 * Room for partials at first; an expansion that needs more doubles its room. Its partials do
 * not overlap, so they number at most one per bit position between 2^-1074 and 2^1024 (2098):
 * memory stays bounded, and readings of similar size need only a few. 4 (32 bytes) keeps the
 * room inside V8's heap (see FIRST_BLOCK in readings-accumulator.ts): a trainer keeps an
 * ExactSum per (sensor, column).
 */
const INITIAL_CAPACITY = 4;

/** The huge expansion of every ExactSum without huge readings (never written to). */
const NO_PARTIALS = new Float64Array(0);

/** The parts of an ExactSum, as sent to another thread. */
export interface ExactSumParts {
  readonly normal: readonly number[];
  /** Partial sums of the huge readings, at 2^-128 of their size. */
  readonly huge: readonly number[];
}

/**
 * The exact sum of any number of finite doubles, in constant memory: a Shewchuk expansion,
 * that is, non-overlapping partial sums whose exact total is the sum (Shewchuk, "Adaptive
 * precision floating-point arithmetic and fast robust geometric predicates", 1997; the
 * algorithm of Python's `math.fsum`). Readings of 2^960 and more go to a second expansion
 * at 2^-128 of their size (exact for them), so that no partial sum can overflow.
 */
export class ExactSum {
  private normal = new Float64Array(INITIAL_CAPACITY);
  private normalLength = 0;
  // Made on the first huge reading: a trainer keeps an ExactSum per (sensor, column), and huge readings are rare.
  private huge = NO_PARTIALS;
  private hugeLength = 0;

  add(value: number): void {
    if (Math.abs(value) >= HUGE) this.addHuge(value * 2 ** -HUGE_SCALE);
    else {
      if (this.normalLength === this.normal.length) this.normal = doubled(this.normal);
      this.normalLength = grow(this.normal, this.normalLength, value);
    }
  }

  merge(other: ExactSumParts): void {
    for (const partial of other.normal) this.add(partial); // a partial may have grown huge
    for (const partial of other.huge) this.addHuge(partial);
  }

  /** Adds a partial already at 2^-128 of its size. */
  private addHuge(scaled: number): void {
    if (this.hugeLength === this.huge.length) this.huge = this.huge === NO_PARTIALS ? new Float64Array(INITIAL_CAPACITY) : doubled(this.huge);
    this.hugeLength = grow(this.huge, this.hugeLength, scaled);
  }

  parts(): ExactSumParts {
    return { normal: Array.from(this.normal.subarray(0, this.normalLength)), huge: Array.from(this.huge.subarray(0, this.hugeLength)) };
  }

  /** sum / n as a double-double (~106 bits), for an integer n > 0. */
  divideBy(n: number): DoubleDouble {
    if (this.hugeLength === 0) return divideByInteger(evaluate(this.normal, this.normalLength), n);
    // Huge and normal parts may cancel (1e289 - (1e289 - 1e-300)): put them in one expansion at
    // the readings' own scale, exact, unless the total itself is beyond the largest double.
    // Each grow adds at most one partial.
    const combined = new Float64Array(this.normalLength + this.hugeLength);
    combined.set(this.normal.subarray(0, this.normalLength));
    let length = this.normalLength;
    for (let index = 0; index < this.hugeLength; index++) length = grow(combined, length, this.huge[index]! * 2 ** HUGE_SCALE);
    const total = evaluate(combined, length);
    if (Number.isFinite(total[0]) && Number.isFinite(total[1])) return divideByInteger(total, n);
    // A total beyond the largest double: the normal part (below n * 2^960) is then a small share
    // of it, and scaled down it loses only bits some 2000 binary places below the total's.
    const huge = evaluate(this.huge, this.hugeLength);
    return scale(divideByInteger(add(huge, scale(evaluate(this.normal, this.normalLength), -HUGE_SCALE)), n), HUGE_SCALE);
  }
}

/** A copy with twice the room. */
function doubled(partials: Float64Array): Float64Array<ArrayBuffer> {
  const larger = new Float64Array(partials.length * 2);
  larger.set(partials);
  return larger;
}

/**
 * Adds `value` to the expansion in partials[0, length): Shewchuk's Grow-Expansion. Returns the
 * new length, at most length + 1: the caller makes room for that (a typed array silently drops
 * a write past its end).
 */
function grow(partials: Float64Array, length: number, value: number): number {
  let x = value;
  let count = 0;
  for (let index = 0; index < length; index++) {
    let y = partials[index]!;
    if (Math.abs(x) < Math.abs(y)) {
      const larger = y;
      y = x;
      x = larger;
    }
    const high = x + y; // Fast2Sum: |x| >= |y|
    const low = y - (high - x);
    if (low !== 0) partials[count++] = low;
    x = high;
  }
  partials[count++] = x;
  return count;
}

/** The expansion's value as a double-double, from its largest part down. */
function evaluate(partials: Float64Array, length: number): DoubleDouble {
  let value: DoubleDouble = [0, 0];
  for (let index = length - 1; index >= 0; index--) value = add(value, [partials[index]!, 0]);
  return value;
}
