import { InsufficientReadingsError, UnrepresentableWeightsError } from '../../../src/domain/domain-errors';
import { ReadingsAccumulator } from '../../../src/domain/readings-accumulator';
import { Weights } from '../../../src/domain/weights';
import { referenceMeanAndStd, relativeError } from '../../support/reference-statistics';

describe('Weights.fromReadings', () => {
  it("learns the case's sample: mean 7.5 and sample std sqrt(17/3)", () => {
    const weights = Weights.fromReadings([10, 5, 6, 9]);
    expect(weights.mean).toBe(7.5);
    expect(relativeError(weights.std, Math.sqrt(17 / 3))).toBeLessThan(1e-12);
    expect(weights.n).toBe(4);
  });

  it('uses the n - 1 denominator (sample, not population, deviation)', () => {
    const weights = Weights.fromReadings([1, 2]);
    expect(weights.mean).toBe(1.5);
    expect(relativeError(weights.std, Math.SQRT1_2)).toBeLessThan(1e-12);
  });

  it('skips missing readings (null and NaN) as the draft skips empty cells', () => {
    const weights = Weights.fromReadings([null, 10, Number.NaN, 5, null, 6, 9, null]);
    expect(weights.n).toBe(4);
    expect(weights.mean).toBe(7.5);
    expect(relativeError(weights.std, Math.sqrt(17 / 3))).toBeLessThan(1e-12);
  });

  it('stays exact far from zero, where a naive sum of squares cancels catastrophically', () => {
    const weights = Weights.fromReadings([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]);
    expect(weights.mean).toBe(1e9 + 10);
    expect(relativeError(weights.std, Math.sqrt(30))).toBeLessThan(1e-12);
  });

  it('stays exact for tiny readings', () => {
    const weights = Weights.fromReadings([4e-12, 7e-12, 13e-12, 16e-12]);
    expect(relativeError(weights.mean, 10e-12)).toBeLessThan(1e-12);
    expect(relativeError(weights.std, Math.sqrt(30) * 1e-12)).toBeLessThan(1e-12);
  });

  it('gives std 0 for identical readings', () => {
    const weights = Weights.fromReadings([0.25, 0.25, 0.25]);
    expect(weights.mean).toBe(0.25);
    expect(weights.std).toBe(0);
  });

  it('agrees with the two-pass reference to 1e-12 on many random readings', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const readings = Array.from({ length: 100_000 }, (_, i) => (i % 17 === 0 ? null : 0.045 + 0.057 * random()));
    const expected = referenceMeanAndStd(readings);
    const weights = Weights.fromReadings(readings);
    expect(weights.n).toBe(expected.n);
    expect(relativeError(weights.mean, expected.mean)).toBeLessThan(1e-12);
    expect(relativeError(weights.std, expected.std)).toBeLessThan(1e-12);
  });

  it.each([[[]], [[3]], [[null, null]], [[null, 3, Number.NaN]]])(
    'refuses fewer than two usable readings (%j): the sample std is undefined',
    (readings) => {
      expect(() => Weights.fromReadings(readings)).toThrow(InsufficientReadingsError);
    },
  );

  it('names how many usable readings it got', () => {
    expect(() => Weights.fromReadings([null, 3])).toThrow(
      'At least 2 non-null readings are needed to estimate a sample standard deviation; got 1.',
    );
  });

  it('refuses readings whose spread overflows a double instead of storing Infinity', () => {
    expect(() => Weights.fromReadings([1.5e308, -1.5e308])).toThrow(UnrepresentableWeightsError);
  });
});

describe('Weights.merged under an adjustment', () => {
  it('blames the adjustment, not the readings, when the adjusted mean of readings that fit overflows', () => {
    // A model of [0, 0] adjusted to a factor near the largest double, then readings of 100.
    const adjusted = Weights.fromReadings([0, 0]).adjusted(1e308);
    const more = new ReadingsAccumulator();
    more.add(100);
    let thrown: unknown;
    try {
      adjusted.merged(more.moments());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnrepresentableWeightsError);
    expect((thrown as UnrepresentableWeightsError).overflowed).toBe('adjustment');
    expect((thrown as Error).message).toMatch(/^The adjustment overflows/);
  });

  it('still blames readings whose own mean or spread overflows', () => {
    // [1.7e308, 1.7e308] merged with [-1.7e308, -1.7e308]: std = sqrt(4/3) * 1.7e308 > the largest double.
    const more = new ReadingsAccumulator();
    for (const reading of [-1.7e308, -1.7e308]) more.add(reading);
    expect(() => Weights.fromReadings([1.7e308, 1.7e308]).adjusted(0.5).merged(more.moments())).toThrow('The readings are too large');
  });
});

describe('Weights.of', () => {
  it('refuses inconsistent moments', () => {
    expect(() => Weights.of(1, 1, 1)).toThrow(InsufficientReadingsError);
    expect(() => Weights.of(1, 1, 2.5)).toThrow(InsufficientReadingsError);
    expect(() => Weights.of(Number.POSITIVE_INFINITY, 1, 2)).toThrow(UnrepresentableWeightsError);
    expect(() => Weights.of(1, -1, 2)).toThrow(UnrepresentableWeightsError);
  });
});

describe('ReadingsAccumulator', () => {
  it('merges accumulators of disjoint readings into what one accumulator of all of them gives', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const readings = Array.from({ length: 10_001 }, () => 1e6 + random());
    const whole = new ReadingsAccumulator();
    readings.forEach((reading) => whole.add(reading));
    const parts = [readings.slice(0, 3), readings.slice(3, 5000), readings.slice(5000)].map((part) => {
      const accumulator = new ReadingsAccumulator();
      part.forEach((reading) => accumulator.add(reading));
      return accumulator;
    });
    const merged = ReadingsAccumulator.fromMoments(parts[0]!.moments());
    merged.merge(parts[1]!);
    merged.merge(parts[2]!);
    const expected = referenceMeanAndStd(readings);
    expect(merged.n).toBe(10_001);
    expect(relativeError(merged.mean, expected.mean)).toBeLessThan(1e-12);
    expect(relativeError(merged.sampleStd, expected.std)).toBeLessThan(1e-12);
    expect(relativeError(merged.sampleStd, whole.sampleStd)).toBeLessThan(1e-12);
  });

  it('merges with empty accumulators as a no-op', () => {
    const accumulator = ReadingsAccumulator.fromMoments(new ReadingsAccumulator().moments());
    accumulator.merge(new ReadingsAccumulator());
    expect(accumulator.n).toBe(0);
    accumulator.add(2);
    accumulator.add(4);
    accumulator.merge(new ReadingsAccumulator());
    expect([accumulator.mean, accumulator.sampleStd]).toEqual([3, Math.SQRT2]);
  });

  it('reports NaN statistics until it has enough readings', () => {
    const accumulator = new ReadingsAccumulator();
    expect(accumulator.n).toBe(0);
    expect(accumulator.mean).toBeNaN();
    accumulator.add(3);
    expect(accumulator.mean).toBe(3);
    expect(accumulator.sampleStd).toBeNaN();
    accumulator.add(5);
    expect(accumulator.sampleStd).toBe(Math.SQRT2);
  });
});
