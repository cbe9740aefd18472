import { legacyMoments } from '../../../src/domain/legacy-moments';
import { ReadingsAccumulator } from '../../../src/domain/readings-accumulator';
import { Weights } from '../../../src/domain/weights';

describe('legacyMoments (a model known by mean, std and n only)', () => {
  it.each([
    [7.5, Math.sqrt(17 / 3), 4],
    [0.1 + 0.2, 1 / 3, 2],
    [0, 0, 2],
    [-0.000123456789e-200, Math.PI, 4],
    [5e-324, 0, 3],
    [123456789.12345679, 2.220446049250313e-16, 1_000_000_007],
    [-1.7976931348623157e308, 1.7976931348623157e308, Number.MAX_SAFE_INTEGER],
    [1.7976931348623157e308, 1e-300, 2],
  ])('gives back mean %p exactly and std %p to the last bits, n %p', (mean, std, n) => {
    const accumulator = ReadingsAccumulator.fromMoments(legacyMoments(mean, std, n));
    expect(accumulator.n).toBe(n);
    expect(accumulator.mean).toBe(mean);
    expect(std === 0 ? accumulator.sampleStd : Math.abs(accumulator.sampleStd - std) / std).toBeLessThan(1e-15);
  });

  it('merges like the readings they stand for: [1, 3] (mean 2, std sqrt 2) plus [5] is [1, 3, 5]', () => {
    const direct = Weights.of(2, Math.SQRT2, 2);
    const one = new ReadingsAccumulator();
    one.add(5);
    const plusFive = direct.merged(one.moments());
    expect(plusFive).toMatchObject({ mean: 3, n: 3, adjustment: 1 });
    expect(Math.abs(plusFive.std - 2) / 2).toBeLessThan(1e-15);
  });

  it('never writes -0 or a zero partial (they would not round-trip through JSON)', () => {
    const moments = legacyMoments(-0, 0, 2);
    expect(Object.is(moments.meanHigh, 0)).toBe(true);
    expect(moments.sum).toEqual({ normal: [], huge: [] });
  });
});

describe('Weights: adjust as a factor', () => {
  it('multiplies mean and adjustment, keeps what was learned, and keeps applying after a merge', () => {
    const fitted = Weights.fromReadings([10, 5, 6, 9]);
    const twice = fitted.adjusted(1.1).adjusted(1.1);
    expect(twice).toMatchObject({ mean: 7.5 * 1.1 * 1.1, adjustment: 1.1 * 1.1, n: 4, std: fitted.std });
    expect(twice.learned).toEqual(fitted.learned);
    const one = new ReadingsAccumulator();
    one.add(12);
    // Learned mean of [10, 5, 6, 9, 12]: 42 / 5 = 8.4.
    expect(twice.merged(one.moments())).toMatchObject({ mean: 8.4 * (1.1 * 1.1), n: 5, adjustment: 1.1 * 1.1 });
  });
});
