import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * A deterministic stand-in for the case's data/collects.csv (the original is not available):
 * same header, row count, sensor order, empty rows and value ranges, with per-sensor
 * accelRMS levels chosen so that the draft's alert table for 0.09 is the documented one.
 */

export const COLLECTS_HEADER =
  '_id,createdAt,params.accelRMS.x,params.accelRMS.y,params.accelRMS.z,params.duration,params.sampRate,' +
  'params.timeStart,params.velRMS.x,params.velRMS.y,params.velRMS.z,sensorId,temp';

export const ROWS_AT_SCALE_1 = 33_901;
const EMPTY_ROWS_AT_SCALE_1 = 460;

/** true = in alert at 0.09 for accelRMS x, y, z (every sensor alerts on all velRMS columns). */
export const ACCEL_ALERTS_AT_0_09: ReadonlyArray<readonly [string, readonly [boolean, boolean, boolean]]> = [
  ['IAJ9206', [true, false, true]],
  ['LZY4270', [true, true, true]],
  ['MUR8453', [true, true, true]],
  ['MXK6435', [true, true, true]],
  ['MYD8706', [false, false, false]],
  ['MYS2071', [true, true, false]],
  ['MZU6388', [true, true, false]],
  ['NAH4736', [false, false, false]],
  ['NAI1549', [true, true, true]],
  ['NEW4797', [false, false, false]],
];

const START_MS = Date.UTC(2021, 5, 1); // 2021-06-01T00:00:00Z
const ACCEL_RANGE = [0.0006, 0.5] as const;
const VEL_RANGE = [0.00004, 0.0123] as const;
const TEMP_RANGE = [-45.5, 132.2] as const;
const SAMPLE_RATES = [104, 208.333333, 416.666667, 833.333333, 2111.111111];

export interface GenerateOptions {
  readonly out: string;
  readonly scale?: number;
  readonly seed?: number;
}

/** Writes the file and returns its row count (header excluded). */
export function generateCollects({ out, scale = 1, seed = 20210601 }: GenerateOptions): number {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
  const random = mulberry32(seed);
  const output = new BufferedWriter(out);
  output.write(`${COLLECTS_HEADER}\n`);

  const totalRows = ROWS_AT_SCALE_1 * scale;
  const sensorCount = ACCEL_ALERTS_AT_0_09.length;
  let written = 0;
  ACCEL_ALERTS_AT_0_09.forEach(([sensorId, accelAlerts], sensorIndex) => {
    // The first sensors take the remainder rows, so the total is exact.
    const rows = Math.floor(totalRows / sensorCount) + (sensorIndex < totalRows % sensorCount ? 1 : 0);
    const emptyRows = Math.floor((EMPTY_ROWS_AT_SCALE_1 * scale) / sensorCount) + (sensorIndex < (EMPTY_ROWS_AT_SCALE_1 * scale) % sensorCount ? 1 : 0);
    const empty = pickIndexes(rows, emptyRows, random);

    // Alerting columns sit well below 0.09 (mean + 2 std ~ 0.03-0.07); calm ones well above (~0.2).
    const accel = accelAlerts.map((alerts) =>
      alerts ? lognormal(0.01 + 0.02 * random(), 0.4 + 0.2 * random()) : lognormal(0.07 + 0.04 * random(), 0.7 + 0.1 * random()),
    );
    const velocity = [0, 1, 2].map(() => lognormal(0.0008 + 0.0005 * random(), 0.5 + 0.3 * random()));
    const baseTemperature = 22 + 18 * random();
    let timeMs = START_MS + Math.floor(random() * 720_000);
    let temperature = baseTemperature;

    for (let row = 0; row < rows; row++) {
      timeMs += 720_000 + Math.floor(random() * 60_000); // a reading every 12-13 minutes
      temperature = clamp(temperature + 0.3 * (baseTemperature - temperature) + 3 * gaussian(random), TEMP_RANGE);
      const createdAt = new Date(timeMs).toISOString();
      const id = objectId(timeMs, written, random);
      const temp = (random() < 0.002 ? TEMP_RANGE[0] + random() * (TEMP_RANGE[1] - TEMP_RANGE[0]) : temperature).toFixed(2);
      if (empty.has(row)) {
        output.write(`${id},${createdAt},,,,,,,,,,${sensorId},${temp}\n`);
      } else {
        const duration = random() < 0.92 ? 3.006 : 1.96 + random() * 3.48;
        const sampleRate = random() < 0.9 ? 1656.686627 : SAMPLE_RATES[Math.floor(random() * SAMPLE_RATES.length)]!;
        const timeStart = (timeMs / 1000 - duration - random()).toFixed(3);
        const [ax, ay, az] = accel.map((draw) => reading(draw(random), ACCEL_RANGE));
        const [vx, vy, vz] = velocity.map((draw) => reading(draw(random), VEL_RANGE));
        output.write(
          `${id},${createdAt},${ax},${ay},${az},${+duration.toFixed(3)},${sampleRate},${timeStart},${vx},${vy},${vz},${sensorId},${temp}\n`,
        );
      }
      written += 1;
    }
  });
  output.close();
  return written;
}

type Random = () => number;

/** Small, fast, seedable PRNG (mulberry32): the same seed always gives the same file. */
function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A positive, right-skewed reading with the given mean and coefficient of variation. */
function lognormal(mean: number, coefficientOfVariation: number): (random: Random) => number {
  const sigma = Math.sqrt(Math.log(1 + coefficientOfVariation ** 2));
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return (random) => Math.exp(mu + sigma * gaussian(random));
}

function clamp(value: number, [low, high]: readonly [number, number]): number {
  return Math.min(high, Math.max(low, value));
}

/** Six significant digits, printed the shortest way (0.0123456, 0.000812345). */
function reading(value: number, range: readonly [number, number]): string {
  return String(Number(clamp(value, range).toPrecision(6)));
}

function pickIndexes(size: number, count: number, random: Random): Set<number> {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(random() * size));
  return picked;
}

/** MongoDB-style id: 4 bytes of seconds, 5 random bytes, a 3-byte counter. */
function objectId(timeMs: number, counter: number, random: Random): string {
  const seconds = Math.floor(timeMs / 1000).toString(16).padStart(8, '0');
  const randomPart = Math.floor(random() * 2 ** 40).toString(16).padStart(10, '0');
  return `${seconds}${randomPart}${(counter & 0xffffff).toString(16).padStart(6, '0')}`;
}

/** Collects lines into ~1 MB writes: a scaled file has millions of rows. */
class BufferedWriter {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= 1 << 20) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
  }
}
