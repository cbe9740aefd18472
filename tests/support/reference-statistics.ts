/** The draft's formula, written the plain two-pass way: an independent oracle for our streaming one. */
export function referenceMeanAndStd(readings: ReadonlyArray<number | null>): { mean: number; std: number; n: number } {
  const present = readings.filter((reading): reading is number => reading !== null);
  const n = present.length;
  const mean = present.reduce((sum, reading) => sum + reading, 0) / n;
  const squaredDeviations = present.reduce((sum, reading) => sum + (reading - mean) ** 2, 0);
  return { mean, std: Math.sqrt(squaredDeviations / (n - 1)), n };
}

/** Relative difference, for asserting statistics to 1e-12. */
export function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}
