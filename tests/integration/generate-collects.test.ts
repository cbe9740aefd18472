import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTS_HEADER, generateCollects } from '../../scripts/collects-generator';
import { makeTempDir } from '../support/test-app';

describe('scripts/generate-collects', () => {
  const directory = makeTempDir();
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('reproduces the committed data/collects.csv byte for byte', () => {
    const out = join(directory, 'collects.csv');
    expect(generateCollects({ out })).toBe(33_901);
    expect(readFileSync(out).equals(readFileSync(join(__dirname, '../../data/collects.csv')))).toBe(true);
  });

  it('keeps the shape at --scale 2: header, sensors in order, twice the rows and empty rows', () => {
    const out = join(directory, 'collects-x2.csv');
    expect(generateCollects({ out, scale: 2 })).toBe(67_802);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(COLLECTS_HEADER);
    expect(lines).toHaveLength(67_803);
    expect(lines.filter((line) => line.includes(',,,,,,,,,,'))).toHaveLength(920);
    const sensors = [...new Set(lines.slice(1).map((line) => line.split(',')[11]))];
    expect(sensors).toEqual(['IAJ9206', 'LZY4270', 'MUR8453', 'MXK6435', 'MYD8706', 'MYS2071', 'MZU6388', 'NAH4736', 'NAI1549', 'NEW4797']);
    const row = lines[1]!.split(',');
    expect(row[0]).toMatch(/^[0-9a-f]{24}$/);
    expect(row[1]).toMatch(/^2021-06-01T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('refuses a scale that is not a positive integer', () => {
    expect(() => generateCollects({ out: join(directory, 'x.csv'), scale: 0 })).toThrow('scale must be a positive integer, got 0');
  });
});
