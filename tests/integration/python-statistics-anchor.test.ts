import { spawnSync } from 'node:child_process';
import { Weights } from '../../src/domain/weights';
import { meanErrorInUlps } from '../support/exact-statistics';

/**
 * The anchor itself: Python's `statistics.mean` and `statistics.stdev`, which compute with
 * exact fractions, on inputs of every kind that used to break. Our mean must be within 1
 * ulp of Python's (itself the exact mean, correctly rounded) and our std within 1e-13.
 */
const range = (length: number, reading: (index: number) => number) => Array.from({ length }, (_, index) => reading(index));

const CASES: ReadonlyArray<readonly number[]> = [
  [10, 5, 6, 9],
  [0.1, 0.1, 0.1],
  range(300, (i) => 1e9 + i / 1000),
  [1e308, 1e308],
  range(600, (i) => (i % 2 ? 1.7e308 : 1.6e308)),
  [1e-200, 2e-200],
  range(777, (i) => Math.sin(i) * 1e-160),
  range(777, (i) => Math.sin(i) * 1e160),
  [1e100, 1, -1e100, 3, 1e-100],
  range(1000, (i) => (i % 3) - 1 + 1e-12 * (i % 7)),
  range(2000, (i) => 0.045 + ((i * 7919) % 1000) / 17_000),
];

const PYTHON = `
import json, statistics, sys
for data in json.load(sys.stdin):
    print(json.dumps([repr(statistics.mean(data)), repr(statistics.stdev(data))]))
`;

const python = ['python3', '/usr/bin/python3'].find((candidate) => spawnSync(candidate, ['-c', 'import statistics'], { stdio: 'ignore' }).status === 0);
const describeWithPython = python ? describe : describe.skip;
if (!python) console.warn('SKIPPED the Python statistics anchor: no python3 on PATH');

describeWithPython("Python's statistics module as the anchor", () => {
  const answers: Array<[string, string]> = [];
  beforeAll(() => {
    const child = spawnSync(python!, ['-c', PYTHON], { input: JSON.stringify(CASES), encoding: 'utf8' });
    expect(child.stderr).toBe('');
    for (const line of child.stdout.trim().split('\n')) answers.push(JSON.parse(line) as [string, string]);
    expect(answers).toHaveLength(CASES.length);
  });

  it.each(CASES.map((readings, index) => [index, readings.length, readings] as const))('case %i (%i readings)', (index, _length, readings) => {
    const [pythonMean, pythonStd] = answers[index]!.map(Number) as [number, number];
    const weights = Weights.fromReadings(readings);
    expect(meanErrorInUlps(weights.mean, readings)).toBeLessThanOrEqual(1);
    expect(Math.abs(weights.mean - pythonMean)).toBeLessThanOrEqual(Math.abs(pythonMean) * Number.EPSILON);
    if (pythonStd === 0) expect(weights.std).toBe(0);
    else expect(Math.abs(weights.std - pythonStd) / pythonStd).toBeLessThanOrEqual(1e-13);
  });
});
