import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeScaledCollects } from '../../scripts/scaled-collects';
import { makeTempDir } from '../support/test-app';

const COMMITTED = join(__dirname, '../../data/collects.csv');

describe('scripts/scaled-collects (benchmark files with the real distribution)', () => {
  const directory = makeTempDir();
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('writes the real rows N times: fresh _ids, createdAt and timeStart a whole file span later per copy', () => {
    const out = join(directory, 'x3.csv');
    expect(writeScaledCollects({ source: COMMITTED, out, scale: 3 })).toBe(3 * 33_901);
    const [realHeader, ...real] = readFileSync(COMMITTED, 'utf8').split('\n');
    const [header, ...lines] = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(header).toBe(realHeader);
    expect(lines).toHaveLength(3 * real.length);
    expect(new Set(lines.map((line) => line.split(',')[0])).size).toBe(lines.length);
    expect(lines.every((line) => /^[0-9a-f]{24},/.test(line))).toBe(true);

    // Earliest 2021-06-01T00:03:29.814Z, latest 2021-07-07T01:13:10.952Z: 3,114,581.138 s, rounded down, plus one.
    const span = 3_114_582;
    const wrong: string[] = [];
    for (const copy of [0, 1, 2]) {
      real.forEach((line, index) => {
        const original = line.split(',');
        const scaled = lines[copy * real.length + index]!.split(',');
        const timeStart = original[7] === '' ? '' : String(Number(original[7]) + copy * span);
        const expected = [...original.slice(2, 7), timeStart, ...original.slice(8)].join(','); // all but _id, createdAt
        const shiftedMs = Date.parse(scaled[1]!) - Date.parse(original[1]!);
        if (scaled.slice(2).join(',') !== expected || shiftedMs !== copy * span * 1000) wrong.push(`copy ${copy}, line ${index + 2}`);
      });
    }
    expect(wrong).toEqual([]);
  });

  it('refuses a scale that is not a positive integer', () => {
    expect(() => writeScaledCollects({ source: COMMITTED, out: join(directory, 'x.csv'), scale: 0 })).toThrow('scale must be a positive integer, got 0');
  });
});
