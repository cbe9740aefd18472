import fc from 'fast-check';
import { ReadingsAccumulator } from '../../../src/domain/readings-accumulator';
import { exactMean, exactStd, exactlyEqual, meanErrorInUlps, stdRelativeError } from '../../support/exact-statistics';

/**
 * The accuracy goal, held against exact rational arithmetic (tests/support/exact-statistics):
 * for every list of finite doubles, the mean within 1 ulp of the exact mean, the sample std
 * within 1e-13 relative of the exact one and exactly 0 when all readings are equal.
 */
function accumulate(readings: readonly number[], parts = 1): ReadingsAccumulator {
  const size = Math.ceil(readings.length / parts);
  const accumulators = Array.from({ length: parts }, (_, part) => {
    const accumulator = new ReadingsAccumulator();
    for (const reading of readings.slice(part * size, (part + 1) * size)) accumulator.add(reading);
    return accumulator;
  });
  const [first, ...rest] = accumulators;
  const merged = ReadingsAccumulator.fromMoments(first!.moments());
  for (const other of rest) merged.merge(other);
  return merged;
}

const SMALLEST_NORMAL = 2 ** -1022;

/** The exact std overflows a double: the accumulator must say Infinity (the 422 case). */
function stdOverflows(readings: readonly number[]): boolean {
  return !Number.isFinite(exactStd(readings));
}

function expectExact(readings: readonly number[], parts = 1): void {
  const accumulator = accumulate(readings, parts);
  expect(accumulator.n).toBe(readings.length);
  expect(meanErrorInUlps(accumulator.mean, readings)).toBeLessThanOrEqual(1);
  const std = exactStd(readings);
  if (stdOverflows(readings)) {
    expect(accumulator.sampleStd).toBe(Number.POSITIVE_INFINITY);
  } else if (std < SMALLEST_NORMAL) {
    // A subnormal std has fewer than 53 bits, so 1e-13 relative cannot be asked of it. It is
    // within a few units of 2^-1074 (5 the worst seen), not correctly rounded: the merges of
    // blocks take the difference of two means that are themselves known only to 2^-1074.
    expect(Math.abs(accumulator.sampleStd - std)).toBeLessThanOrEqual(Math.max(1e-13 * std, 8 * Number.MIN_VALUE));
  } else {
    expect(stdRelativeError(accumulator.sampleStd, readings)).toBeLessThanOrEqual(1e-13);
  }
  if (exactlyEqual(readings)) expect(accumulator.sampleStd).toBe(0);
}

const range = (length: number, reading: (index: number) => number) => Array.from({ length }, (_, index) => reading(index));

describe('ReadingsAccumulator: exact statistics', () => {
  describe('equal readings give exactly their value and std 0', () => {
    it.each([
      ['0.1 three times', range(3, () => 0.1)],
      ['0.1 a thousand times', range(1000, () => 0.1)],
      ['1/3, 1025 times (a block and one)', range(1025, () => 1 / 3)],
      ['-7.3e-5, 300 times', range(300, () => -7.3e-5)],
      ['1e308, 600 times', range(600, () => 1e308)],
      ['the largest double', range(5, () => Number.MAX_VALUE)],
      ['the smallest subnormal', range(10, () => Number.MIN_VALUE)],
      ['a subnormal', range(3, () => 2.5e-310)],
      ['1e9 + 0.1', range(513, () => 1e9 + 0.1)],
      ['zero', range(4, () => 0)],
    ])('%s', (_name, readings) => {
      for (const parts of [1, 3]) {
        const accumulator = accumulate(readings, parts);
        expect(accumulator.mean).toBe(readings[0]);
        expect(accumulator.sampleStd).toBe(0);
      }
    });

    it('holds for any double, repeated any number of times, merged in any number of parts', () => {
      fc.assert(
        fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 2, max: 700 }), fc.integer({ min: 1, max: 4 }), (value, length, parts) => {
          const accumulator = accumulate(range(length, () => value), parts);
          return Object.is(accumulator.mean, value === 0 ? accumulator.mean : value) && accumulator.mean === value && accumulator.sampleStd === 0;
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('readings far from zero keep every digit', () => {
    it.each([
      ['1e9 + i / 1000 (the issue)', range(300, (i) => 1e9 + i / 1000)],
      ['1e15 + (i mod 7)', range(2000, (i) => 1e15 + (i % 7))],
      ['-3e12 + i * 0.001', range(1000, (i) => -3e12 + i * 0.001)],
      ['1e9 + 4, 7, 13, 16', [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]],
      ['1e16 and its neighbours', range(999, (i) => 1e16 + 2 * (i % 3))],
      ['one ulp apart, around 1', range(1001, (i) => (i % 2 ? 1 : 1 + Number.EPSILON))],
    ])('%s', (_name, readings) => {
      expectExact(readings);
      expectExact(readings, 3);
    });

    it("answers the issue's predict exactly: 1000000000.3229934 is below mean + 2 * std", () => {
      const accumulator = accumulate(range(300, (i) => 1e9 + i / 1000));
      expect(stdRelativeError(accumulator.sampleStd, range(300, (i) => 1e9 + i / 1000))).toBeLessThanOrEqual(1e-13);
      expect(1000000000.3229934 >= accumulator.mean + 2 * accumulator.sampleStd).toBe(false);
    });
  });

  describe('large magnitudes are neither refused nor overflowed', () => {
    it.each([
      ['1e308 twice', [1e308, 1e308]],
      ['1.6e308 and 1.7e308 alternating', range(1000, (i) => (i % 2 ? 1.7e308 : 1.6e308))],
      ['-1e308 and -1.2e308', [-1e308, -1.2e308, -1.1e308]],
      ['8.9e307, -8.9e307, 8.9e307', [8.9e307, -8.9e307, 8.9e307]],
      ['sin(i) * 1e300', range(777, (i) => Math.sin(i) * 1e300)],
      ['sin(i) * 1e160 (squares overflow)', range(777, (i) => Math.sin(i) * 1e160)],
      ['the largest double and its neighbour', [Number.MAX_VALUE, Number.MAX_VALUE - 2 ** 970]],
    ])('%s', (_name, readings) => {
      expectExact(readings);
      expectExact(readings, 4);
      expect(Number.isFinite(accumulate(readings).sampleStd)).toBe(true);
    });

    it('says Infinity only when the exact std itself exceeds the largest double', () => {
      expect(accumulate([1.5e308, -1.5e308]).sampleStd).toBe(Number.POSITIVE_INFINITY);
      expect(accumulate([Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_VALUE]).sampleStd).toBe(Number.POSITIVE_INFINITY);
      // Mean 0, M2 = 2 MAX^2, n - 1 = 2: the std is exactly the largest double.
      expect(accumulate([Number.MAX_VALUE, -Number.MAX_VALUE, 0]).sampleStd).toBe(Number.MAX_VALUE);
    });
  });

  describe('small magnitudes do not underflow', () => {
    it.each([
      ['1e-200 and 2e-200 (the issue)', [1e-200, 2e-200]],
      ['1e-300, 3e-300, 2e-300', [1e-300, 3e-300, 2e-300]],
      ['sin(i) * 1e-160 (squares underflow)', range(777, (i) => Math.sin(i) * 1e-160)],
      ['1e-150 + tiny spread', range(600, (i) => 1e-150 * (1 + (i % 5) * Number.EPSILON))],
      ['subnormals', [5e-324, 1e-323, 1.5e-323, 2.5e-323]],
    ])('%s', (_name, readings) => {
      expectExact(readings);
      expectExact(readings, 2);
    });

    it("answers the issue's predict exactly: 1.5e-200 is below mean + 2 * std", () => {
      const accumulator = accumulate([1e-200, 2e-200]);
      expect(accumulator.sampleStd).toBe(7.071067811865475e-201);
      expect(1.5e-200 >= accumulator.mean + 2 * accumulator.sampleStd).toBe(false);
    });
  });

  // `size: 'max'` on every array: by default fast-check draws arrays of at most ~10 items
  // whatever maxLength says, which would never fill a block (1024) or a large expansion.
  describe('any finite readings (property tests against exact arithmetic)', () => {
    const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
    const parts = fc.integer({ min: 1, max: 4 });

    it('doubles from the whole range', () => {
      fc.assert(
        fc.property(fc.array(anyDouble, { minLength: 2, maxLength: 2500, size: 'max' }), parts, (readings, count) => {
          expectExact(readings, count);
        }),
        { numRuns: 100 },
      );
    });

    it('an offset anywhere in the range plus small deltas', () => {
      fc.assert(
        fc.property(
          anyDouble,
          fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 2, maxLength: 2500, size: 'max' }),
          fc.integer({ min: -60, max: 0 }),
          parts,
          (offset, steps, exponent, count) => {
            const ulp = Math.max(Number.MIN_VALUE, Math.abs(offset) * Number.EPSILON);
            const readings = steps.map((step) => offset + step * ulp * 2 ** (exponent + 40));
            fc.pre(readings.every(Number.isFinite));
            expectExact(readings, count);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('readings of one magnitude, any magnitude', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: -1070, max: 1020 }),
          fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 2, maxLength: 2500, size: 'max' }),
          parts,
          (exponent, unit, count) => {
            const readings = unit.map((value) => value * 2 ** exponent);
            expectExact(readings, count);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('sums that cancel to almost nothing: readings, their negatives and one more, shuffled', () => {
      fc.assert(
        fc.property(fc.array(anyDouble, { minLength: 1, maxLength: 1200, size: 'max' }), anyDouble, fc.integer(), parts, (values, extra, shuffleSeed, count) => {
          const readings = [...values, ...values.map((value) => -value), extra];
          let state = shuffleSeed >>> 0;
          for (let index = readings.length - 1; index > 0; index--) {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            const other = state % (index + 1);
            [readings[index], readings[other]] = [readings[other]!, readings[index]!];
          }
          expectExact(readings, count);
        }),
        { numRuns: 60 },
      );
    });

    // Readings of many magnitudes added smallest first do not overlap: their exact sum needs
    // one partial each, up to one per bit position of the double range (2098).
    it('readings spread over many magnitudes, added smallest or largest first', () => {
      // Each reading 8-40 binary places above the last, full 53-bit mantissas: up to ~250
      // partials. Mostly below 2^960, where the readings share one expansion.
      const ladder = fc.record({
        start: fc.integer({ min: -1074, max: -600 }),
        top: fc.integer({ min: -100, max: 1023 }),
        gaps: fc.array(fc.integer({ min: 8, max: 40 }), { minLength: 2, maxLength: 260, size: 'max' }),
        mantissas: fc.array(fc.double({ min: 1, max: 2, maxExcluded: true, noNaN: true }), { minLength: 260, maxLength: 260 }),
        negatives: fc.array(fc.boolean(), { minLength: 260, maxLength: 260 }),
      });
      fc.assert(
        fc.property(ladder, fc.boolean(), parts, ({ start, top, gaps, mantissas, negatives }, ascending, count) => {
          const readings: number[] = [];
          let exponent = start;
          for (const [index, gap] of gaps.entries()) {
            if (exponent > top) break;
            readings.push((negatives[index] ? -1 : 1) * Math.min(mantissas[index]! * 2 ** exponent, Number.MAX_VALUE));
            exponent += gap;
          }
          if (!ascending) readings.reverse();
          expectExact(readings, count);
        }),
        { numRuns: 200 },
      );
    });

    it('powers of ten from tiny to huge, in order: more partials than a fixed-size expansion holds', () => {
      const powers = (from: number, to: number, step: number) => range(Math.floor((to - from) / step) + 1, (index) => Number(`1e${from + index * step}`));
      for (const readings of [powers(-40, 27, 1), powers(-160, 295, 7), powers(-323, 308, 1), powers(-323, 308, 1).reverse()]) {
        for (const parts of [1, 2, 4]) expectExact(readings, parts);
      }
      expect(accumulate(powers(-160, 295, 7)).mean).toBe(1.5151516666666817e293); // Python's statistics.mean
    });

    it('readings on both sides of 2^960 (summed at two scales) that cancel to a tiny total', () => {
      const readings = [9.745314011399998e288, 9.749068412786248e272, 0, -9.745314011399998e288, -9.749068412786248e272, 0, -2.141764832207314e-304];
      for (const parts of [1, 2, 3, 4]) expectExact(readings, parts);
      expectExact([2 ** 960, 2 ** 960 - 2 ** 908, -(2 ** 961), 1e-300, 3], 1);
    });

    describe("the block sum's cheap certificate (smallest and largest magnitude) at and past its limit", () => {
      // A block's sum is taken as exact when n^2 * largest <= 2^52 * smallest (n = 1024: readings
      // spanning up to ~2^32). These blocks have 600 to 1023 readings with full 53-bit mantissas
      // spread over 2^24 to 2^72 (both sides of the limit; in this form their sums first go wrong
      // without the certificate from a spread of ~2^48), a few zeros, and cancel to almost nothing
      // within the block, so that any rounding error a certificate let through shows in the mean.
      const fullMantissa = fc.tuple(fc.integer({ min: 0, max: 2 ** 26 - 1 }), fc.integer({ min: 0, max: 2 ** 26 - 1 })).map(([high, low]) => 1 + (high * 2 ** 26 + low + 1) * 2 ** -52);
      const spreadReading = (base: number, spread: number) =>
        fc.tuple(fullMantissa, fc.integer({ min: 0, max: spread }), fc.boolean(), fc.integer({ min: 0, max: 60 })).map(([mantissa, down, negative, zeroDraw]) =>
          zeroDraw === 0 ? 0 : (negative ? -1 : 1) * mantissa * 2 ** (base - down),
        );
      const shuffled = (readings: number[], seed: number) => {
        let state = seed >>> 0;
        for (let index = readings.length - 1; index > 0; index--) {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          const other = state % (index + 1);
          [readings[index], readings[other]] = [readings[other]!, readings[index]!];
        }
        return readings;
      };
      /** Readings, their negatives and `extra` (a multiple of the smallest spacing in play, or 0), shuffled: one block. */
      const cancellingBlock = fc
        .record({ base: fc.integer({ min: -60, max: 60 }), spread: fc.integer({ min: 24, max: 72 }), seed: fc.integer(), extraDraw: fc.integer({ min: 0, max: 3 }) })
        .chain(({ base, spread, seed, extraDraw }) =>
          fc.array(spreadReading(base, spread), { minLength: 300, maxLength: 511, size: 'max' }).map((values) => {
            const extra = [0, 3 * 2 ** (base - spread), -1.5 * 2 ** base, 2 ** (base - spread - 30)][extraDraw]!;
            return shuffled([...values, ...values.map((value) => -value), extra], seed);
          }),
        );

      it('one block', () => {
        fc.assert(
          fc.property(cancellingBlock, (readings) => expectExact(readings)),
          { numRuns: 80 },
        );
      });

      it('several blocks, merged in parts', () => {
        fc.assert(
          fc.property(fc.array(cancellingBlock, { minLength: 2, maxLength: 3 }), parts, (blocks, count) => expectExact(blocks.flat(), count)),
          { numRuns: 25 },
        );
      });

      it('rounding errors all of one sign (the worst case the certificate guards against)', () => {
        // 1 + 2^-45 added 1023 times: past 512 every addition rounds down by 2^-45, so the errors
        // add up to ~2^-36; one tiny reading of full mantissa at 2^-k puts bits down to 2^-(k+52)
        // into them. From k = 37 on, the errors' sum needs more than 53 bits and a sum taken as
        // exact would be wrong; the certificate stops at k = 32. The second block takes the large
        // readings back exactly, so the mean is the tiny reading / 2048 and shows any lost bit.
        const big = 1 + 2 ** -45;
        for (let k = 28; k <= 44; k++) {
          const tiny = (1 + 12345 * 2 ** -52) * 2 ** -k;
          for (const at of [0, 1023]) {
            const first = range(1023, () => big);
            first.splice(at, 0, (k % 2 ? -1 : 1) * tiny);
            const readings = [...first, ...range(1023, () => -big), 0];
            expectExact(readings);
            expect(accumulate(readings).mean).toBe(((k % 2 ? -1 : 1) * tiny) / 2048);
          }
        }
      });

      it('blocks of any length (the last, partial block), around the largest magnitude the fast path takes (2^900)', () => {
        fc.assert(
          fc.property(fc.integer({ min: 890, max: 1010 }), fc.integer({ min: 2, max: 1100 }), fc.integer(), (exponent, length, seed) => {
            let state = seed >>> 0;
            const readings = range(length, () => {
              state = (Math.imul(state, 1103515245) + 12345) >>> 0;
              return (1 + state / 2 ** 32) * 2 ** (exponent - (state % 7));
            });
            expectExact(readings);
            expectExact(readings, 2);
          }),
          { numRuns: 60 },
        );
      });

      it('the smallest magnitude a subnormal', () => {
        const readings = range(1024, (i) => (i % 3 === 0 ? 5e-324 * (1 + (i % 11)) : (i % 2 ? 1 : -1) * 2 ** -1040 * (1 + i / 1024)));
        expectExact(readings);
        expectExact([...readings, ...readings.map((value) => -value), 5e-324], 3);
      });
    });

    it('mixed signs and magnitudes, with exact values computed independently', () => {
      const readings = [3, -1e-300, 7e250, -7e250, 1e-10, 5e100];
      const accumulator = accumulate(readings);
      expect(accumulator.mean).toBe(exactMean(readings));
      expect(stdRelativeError(accumulator.sampleStd, readings)).toBeLessThanOrEqual(1e-13);
    });
  });
});

describe('ReadingsAccumulator.addAll', () => {
  it('learns a slice of a column exactly as add() one reading at a time, skipping NaN (missing)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noDefaultInfinity: true }), fc.constant(Number.NaN)), { maxLength: 3000, size: 'max' }),
        fc.nat(),
        fc.nat(),
        (cells, a, b) => {
          const start = cells.length === 0 ? 0 : a % cells.length;
          const end = start + (cells.length === 0 ? 0 : b % (cells.length - start + 1));
          const one = new ReadingsAccumulator();
          for (const cell of cells.slice(start, end)) one.add(cell);
          const bulk = new ReadingsAccumulator();
          bulk.addAll(Float64Array.from(cells), start, end);
          expect(bulk.moments()).toEqual(one.moments());
          expect(bulk.n).toBe(cells.slice(start, end).filter((cell) => !Number.isNaN(cell)).length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('continues a block that add() began', () => {
    const column = Float64Array.from(range(2500, (i) => (i % 7 === 3 ? Number.NaN : 1 + i / 3)));
    const one = new ReadingsAccumulator();
    const bulk = new ReadingsAccumulator();
    for (let i = 0; i < 700; i++) {
      one.add(column[i]!);
      bulk.add(column[i]!);
    }
    for (let i = 700; i < column.length; i++) one.add(column[i]!);
    bulk.addAll(column, 700, column.length);
    expect([bulk.mean, bulk.sampleStd, bulk.n]).toEqual([one.mean, one.sampleStd, one.n]);
  });
});
