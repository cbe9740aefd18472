import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { exactMean, exactStd, meanErrorInUlps, stdRelativeError } from '../support/exact-statistics';
import { SEED_ALERT_TABLE_AT_0_09 } from '../support/seed-alert-table';
import { storedModels, type StoredModel } from '../support/stored-models';
import { makeTempDir } from '../support/test-app';

/**
 * The case's own readings file (data/collects.csv, copied byte for byte from the case's
 * distribution): the trainer's every (sensor, column) held to exact rational arithmetic over
 * the cells, read here with a plain split (the file has no quotes), not the product's reader.
 */
const COMMITTED = join(__dirname, '../../data/collects.csv');
const SHA256 = '7144274acfbbdbb7d8d5ac039ccb47b0fb762f873a180e26ada8ae61e5ba30ad';
const METRICS = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z', 'params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z'];

/** sensor -> column -> readings (null for an empty cell), in file order. */
function readColumns(text: string): Map<string, Map<string, Array<number | null>>> {
  const [header, ...lines] = text.split('\n');
  const names = header!.split(',');
  const sensorIndex = names.indexOf('sensorId');
  const columns = new Map<string, Map<string, Array<number | null>>>();
  for (const line of lines) {
    const cells = line.split(',');
    expect(cells).toHaveLength(names.length);
    const sensor = cells[sensorIndex]!;
    if (!columns.has(sensor)) columns.set(sensor, new Map(METRICS.map((metric) => [metric, []])));
    for (const metric of METRICS) {
      const cell = cells[names.indexOf(metric)]!;
      const value = cell === '' ? null : Number(cell);
      if (value !== null) expect(Number.isFinite(value)).toBe(true);
      columns.get(sensor)!.get(metric)!.push(value);
    }
  }
  return columns;
}

describe("the case's data/collects.csv", () => {
  const directory = makeTempDir();
  const text = readFileSync(COMMITTED, 'utf8');
  const columns = readColumns(text);
  let stored: StoredModel[];

  beforeAll(() => {
    const dbPath = join(directory, 'real.db');
    const trained = runCli('train', [COMMITTED], dbPath);
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    stored = storedModels(dbPath);
  }, 60_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('is the case file, byte for byte: 33,901 rows of 10 sensors, 460 with every params.* cell empty', () => {
    expect(createHash('sha256').update(readFileSync(COMMITTED)).digest('hex')).toBe(SHA256);
    const lines = text.split('\n');
    expect(text.endsWith('\n')).toBe(false);
    expect(lines).toHaveLength(1 + 33_901);
    expect([...columns.keys()]).toEqual(['IAJ9206', 'LZY4270', 'MUR8453', 'MXK6435', 'MYD8706', 'MYS2071', 'MZU6388', 'NAH4736', 'NAI1549', 'NEW4797']);
    expect(lines.filter((line) => /^[^,]*,[^,]*,,,,,,,,,,[^,]+,[^,]*$/.test(line))).toHaveLength(460);
  });

  it('trains every (sensor, column) to the exact mean (within 1 ulp) and std (1e-13 relative)', () => {
    expect(stored).toHaveLength(60);
    for (const { sensor_id, metric, mean, std, n } of stored) {
      const readings = columns.get(sensor_id)!.get(metric)!;
      expect({ sensor_id, metric, n }).toEqual({ sensor_id, metric, n: readings.filter((value) => value !== null).length });
      expect(meanErrorInUlps(mean, readings)).toBeLessThanOrEqual(1);
      expect(stdRelativeError(std, readings)).toBeLessThanOrEqual(1e-13);
    }
  });

  it("gives the seed's 0.09 table, from the exact statistics and from the trainer's CLI", () => {
    const exactTable = new Map([...columns].map(([sensor, byMetric]) => [
      sensor,
      new Map([...byMetric].map(([metric, readings]) => [metric, 0.09 >= exactMean(readings) + 2 * exactStd(readings)])),
    ]));
    for (const [sensor, expected] of Object.entries(SEED_ALERT_TABLE_AT_0_09)) {
      expect(Object.fromEntries(exactTable.get(sensor)!)).toEqual(expected);
    }
    const alerts = runCli('alerts', ['--value', '0.09', '--format', 'json'], join(directory, 'real.db'));
    expect(alerts.status).toBe(0);
    expect(JSON.parse(alerts.stdout)).toEqual(SEED_ALERT_TABLE_AT_0_09);
  });

  it('has its closest call at MZU6388 params.accelRMS.y: threshold 0.0899396, an alert by 6e-5', () => {
    const margins = [...columns].flatMap(([sensor, byMetric]) =>
      [...byMetric].map(([metric, readings]) => ({ sensor, metric, threshold: exactMean(readings) + 2 * exactStd(readings) })),
    );
    const closest = margins.reduce((best, next) => (Math.abs(next.threshold - 0.09) < Math.abs(best.threshold - 0.09) ? next : best));
    expect(closest.sensor).toBe('MZU6388');
    expect(closest.metric).toBe('params.accelRMS.y');
    expect(closest.threshold.toPrecision(6)).toBe('0.0899396');
    const row = stored.find((model) => model.sensor_id === 'MZU6388' && model.metric === 'params.accelRMS.y')!;
    expect(row.mean + 2 * row.std).toBeLessThanOrEqual(0.09);
  });

  it('alerts --thresholds prints every threshold: the rule on the stored statistics, within 1e-13 of the exact one', () => {
    const printed = runCli('alerts', ['--thresholds', '--format', 'json'], join(directory, 'real.db'));
    expect(printed.status).toBe(0);
    const thresholds = JSON.parse(printed.stdout) as Record<string, Record<string, number>>;
    expect(Object.values(thresholds).flatMap((ofSensor) => Object.keys(ofSensor))).toHaveLength(60);
    for (const { sensor_id, metric, mean, std } of stored) {
      const threshold = thresholds[sensor_id]![metric]!;
      expect(threshold).toBe(mean + 2 * std);
      const readings = columns.get(sensor_id)!.get(metric)!;
      const exact = exactMean(readings) + 2 * exactStd(readings);
      expect(Math.abs(threshold - exact) / exact).toBeLessThan(1e-13);
    }
    expect(thresholds.MZU6388!['params.accelRMS.y']!.toPrecision(6)).toBe('0.0899396');

    const table = runCli('alerts', ['--thresholds', '--sensor', 'MZU6388'], join(directory, 'real.db')).stdout.split('\n');
    expect(table[0]).toMatch(/^sensor_id {2}params\.accelRMS\.x +params\.accelRMS\.y +.*params\.velRMS\.z$/);
    expect(table[1]!.split(/ +/)).toEqual(['MZU6388', ...['params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z', 'params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z'].map((metric) => String(thresholds.MZU6388![metric]))]);
    expect(table.slice(2)).toEqual(['threshold = mean + 2 * std: a reading at or above it is an alert', '']);
  });
});
