import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainLikeTheDraft, type DraftWeights } from '../../scripts/bench/draft-port';
import { writeScaledCollects } from '../../scripts/scaled-collects';
import { MAX_RECORD_BYTES } from '../../src/infrastructure/csv/csv-range.scanner';
import { runCli } from '../support/cli';
import { SEED_ALERT_TABLE_AT_0_09 } from '../support/seed-alert-table';
import { storedModels, type StoredModel } from '../support/stored-models';
import { makeTempDir } from '../support/test-app';
import { unprivilegedUser } from '../support/unprivileged-user';
import { relativeError } from '../support/reference-statistics';

const COMMITTED = join(__dirname, '../../data/collects.csv');
const HEADER = readFileSync(COMMITTED, 'utf8').slice(0, readFileSync(COMMITTED, 'utf8').indexOf('\n'));

/** Everything in the database, to compare before and after a failed run. */
function snapshot(dbPath: string): { weights: StoredModel[]; history: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    return { weights: storedModels(dbPath), history: (db.prepare('SELECT count(*) AS count FROM weights_history').get() as { count: number }).count };
  } finally {
    db.close();
  }
}

function expectSameStatistics(stored: StoredModel[], draft: DraftWeights): void {
  expect(stored).toHaveLength(Object.keys(draft).length * 6);
  for (const { sensor_id, metric, mean, std } of stored) {
    const expected = draft[sensor_id]![metric]!;
    expect(relativeError(mean, expected.mean)).toBeLessThan(1e-12);
    expect(relativeError(std, expected.std)).toBeLessThan(1e-12);
  }
}

describe('npm run train / npm run alerts (the bundled CLIs)', () => {
  const directory = makeTempDir();
  const scaled = join(directory, 'collects-x4.csv');
  let draftOnCommitted: DraftWeights;
  let draftOnScaled: DraftWeights;

  beforeAll(async () => {
    writeScaledCollects({ source: COMMITTED, out: scaled, scale: 4 }); // 19.6 MB: large enough to be split across threads
    [draftOnCommitted, draftOnScaled] = await Promise.all([trainLikeTheDraft(COMMITTED), trainLikeTheDraft(scaled)]);
  }, 120_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("learns the committed file exactly as the draft does, and gives the case's 0.09 alert table", () => {
    const dbPath = join(directory, 'committed.db');
    const trained = runCli('train', [COMMITTED], dbPath);
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    expect(trained.stdout).toMatch(
      new RegExp(`^trained 10 sensors x 6 columns from 33,901 rows of ${COMMITTED} \\(4\\.9 MB\\) into ${dbPath} in [\\d.]+ s: [\\d,]+ rows/s, [\\d.]+ MB/s\\n$`),
    );
    const { weights } = snapshot(dbPath);
    expectSameStatistics(weights, draftOnCommitted);
    expect(weights.find((row) => row.sensor_id === 'IAJ9206' && row.metric === 'params.velRMS.x')?.n).toBe(3986 - 60); // its rows, less those without any reading

    const alerts = runCli('alerts', ['--value', '0.09', '--format', 'json'], dbPath);
    expect(alerts.status).toBe(0);
    expect(JSON.parse(alerts.stdout)).toEqual(SEED_ALERT_TABLE_AT_0_09);
  });

  it.each([['1'], ['2']])('learns a scaled file exactly as the draft does with --threads %s', (threads) => {
    const dbPath = join(directory, `scaled-${threads}.db`);
    const trained = runCli('train', [scaled, '--threads', threads], dbPath);
    expect(trained.stderr).toBe('');
    expect(trained.stdout).toMatch(/^trained 10 sensors x 6 columns from 135,604 rows/);
    expectSameStatistics(snapshot(dbPath).weights, draftOnScaled);
  });

  it('stays exact when a quote in a large file makes the split unsafe (one thread rereads it)', () => {
    const quoted = join(directory, 'quoted-x4.csv');
    const lines = readFileSync(scaled, 'utf8').split('\n');
    const middle = Math.floor(lines.length / 2);
    // Quote the sensor id, and make temp a quoted two-line text with escaped quotes.
    lines[middle] = lines[middle]!.replace(/,([^,]*),([^,]*)$/, ',"$1","multi\nline ""$2"""');
    writeFileSync(quoted, lines.join('\n'));
    const dbPath = join(directory, 'quoted.db');
    expect(runCli('train', [quoted, '--threads', '2'], dbPath).status).toBe(0);
    // Quoting changed no reading: the statistics are the scaled file's.
    expectSameStatistics(snapshot(dbPath).weights, draftOnScaled);
  });

  it('says in one line, exit 1, before reading the file, that a read-only database file cannot take the weights; stores nothing and leaves no -wal or -shm behind', () => {
    const folder = join(directory, 'read-only-file');
    mkdirSync(folder);
    const dbPath = join(folder, 'sensors.db');
    expect(runCli('train', [COMMITTED], dbPath).status).toBe(0);
    const before = readFileSync(dbPath);
    // The folder writable (SQLite makes its -wal and -shm files there), the file not.
    chmodSync(directory, 0o755);
    chmodSync(folder, 0o777);
    chmodSync(dbPath, 0o444);
    const child = spawnSync(process.execPath, [join(__dirname, '../../dist/bin/train.js'), COMMITTED], {
      env: { PATH: process.env.PATH, DB_PATH: dbPath },
      encoding: 'utf8',
      ...unprivilegedUser().user,
    });
    expect({ status: child.status, stderr: child.stderr }).toEqual({
      status: 1,
      stderr: `train: cannot open the weights database at ${dbPath}: permission denied: this process (uid ${unprivilegedUser().uid}) cannot write ${dbPath}\n`,
    });
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(readdirSync(folder)).toEqual(['sensors.db']);
  });

  it('says "1 sensor" and "1 row" in the singular', () => {
    const row = (vel: string) => `id,2021-06-01T00:00:00.000Z,0.01,0.02,0.03,3.006,1656.686627,1622505600,${vel},0.001,0.001,ONE,30`;
    const csv = join(directory, 'one-sensor.csv');
    writeFileSync(csv, `${HEADER}\n${row('0.001')}\n${row('0.002')}\n`);
    const dbPath = join(directory, 'singular.db');
    const trained = runCli('train', [csv], dbPath);
    expect(trained.stderr).toBe('');
    expect(trained.stdout).toMatch(new RegExp(`^trained 1 sensor x 6 columns from 2 rows of ${csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
    const single = join(directory, 'one-row.csv');
    writeFileSync(single, `${HEADER}\n${row('0.003')}\n`);
    const merged = runCli('train', [single, '--merge'], dbPath);
    expect(merged.stderr).toBe('');
    expect(merged.stdout).toMatch(/^merged 6 models of 1 sensor from 1 row of /);
    // A column without a reading leaves its model as it was, and is not counted.
    const gap = join(directory, 'one-gap.csv');
    writeFileSync(gap, `${HEADER}\n${row('0.004').replace(/,0\.004(?=,)/, ',')}\n`);
    expect(runCli('train', [gap, '--merge'], dbPath).stdout).toMatch(/^merged 5 models of 1 sensor from 1 row of /);
  });

  describe('refuses bad input with one clear line, a non-zero exit, and nothing written', () => {
    const dbPath = join(directory, 'guarded.db');
    /** The scaled file (19.6 MB: read by two threads) as `name`, its line at `index` (0: the header) edited. */
    const scaledWithLine = (name: string, index: number, edit: (line: string) => string) => {
      const path = join(directory, name);
      const lines = readFileSync(scaled, 'utf8').split('\n');
      lines[index] = edit(lines[index]!);
      writeFileSync(path, lines.join('\n'));
      return path;
    };
    const withOops = (line: string) => line.replace(/^([^,]*,[^,]*,)[^,]*/, '$1oops');
    let before: ReturnType<typeof snapshot>;

    beforeAll(() => {
      expect(runCli('train', [COMMITTED], dbPath).status).toBe(0);
      before = snapshot(dbPath);
    });

    const file = (name: string, content: string) => {
      const path = join(directory, name);
      writeFileSync(path, content);
      return path;
    };
    const row = (sensor: string, vel: string) => `id,2021-06-01T00:00:00.000Z,0.01,0.02,0.03,3.006,1656.686627,1622505600,${vel},0.001,0.001,${sensor},30`;

    it.each([
      ['a missing file', () => join(directory, 'absent.csv'), (path: string) => `${path}: no such file`],
      [
        'missing columns',
        () => file('no-accel.csv', 'sensorId,params.velRMS.x\nA,1\n'),
        (path: string) => `${path}:1: missing required columns "params.velRMS.y", "params.velRMS.z", "params.accelRMS.x", "params.accelRMS.y", "params.accelRMS.z"`,
      ],
      [
        'a non-numeric cell',
        () => file('text-cell.csv', `${HEADER}\n${row('A', '0.001')}\n${row('A', 'high')}\n`),
        (path: string) => `${path}:3: column "params.velRMS.x": "high" is not a finite number`,
      ],
      [
        'a sensor with fewer than two readings in a column',
        () => file('one-reading.csv', `${HEADER}\n${row('A', '0.001')}\n${row('A', '0.002')}\n${row('B', '0.001')}\n${row('B', '')}\n`),
        (path: string) =>
          `${path}:4: column "params.velRMS.x": sensor "B" (first seen here): At least 2 non-null readings are needed to estimate a sample standard deviation; got 1.`,
      ],
      [
        'an invalid sensor id',
        () => file('bad-id.csv', `${HEADER}\n${row('A B', '0.001')}\n${row('A B', '0.002')}\n`),
        (path: string) => `${path}:2: column "sensorId": Invalid sensor id "A B": use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
      ],
      ['a directory', () => directory, (path: string) => `${path}: is a directory, not a file`],
      [
        'a FIFO (refused before opening it: an open would wait for a writer)',
        () => {
          const path = join(directory, 'readings.fifo');
          if (!existsSync(path)) execFileSync('mkfifo', [path]);
          return path;
        },
        (path: string) => `${path}: not a regular file (a FIFO, device or socket)`,
      ],
      ['a device that never ends', () => '/dev/zero', (path: string) => `${path}: not a regular file (a FIFO, device or socket)`],
      [
        'a field longer than the record limit (bounded memory)',
        () => file('huge-field.csv', `${HEADER}\n${row('A', '0.001')}\n${row('A', 'x'.repeat(MAX_RECORD_BYTES))}\n`),
        (path: string) => `${path}:3: a line is longer than 1048576 bytes (1 MiB), the most a record may take`,
      ],
      [
        'a quoted field over the record limit in the header',
        () => file('huge-header.csv', `"${'h'.repeat(3 * MAX_RECORD_BYTES)}",${HEADER}\n`),
        (path: string) => `${path}:1: a line is longer than 1048576 bytes (1 MiB), the most a record may take`,
      ],
      [
        'a column given twice',
        () => file('twice.csv', `${HEADER},params.velRMS.x\n${row('A', '0.001')},0.5\n${row('A', '0.002')},0.7\n`),
        (path: string) => `${path}:1: column "params.velRMS.x" appears twice (fields 9 and 14)`,
      ],
      [
        'a non-numeric cell deep in a file read by two threads',
        () => scaledWithLine('late-error-x4.csv', 120_000, withOops),
        (path: string) => `${path}:120001: column "params.accelRMS.x": "oops" is not a finite number`,
      ],
      [
        // Also in the first megabyte, which is sampled (for its sensors) before the file is split.
        'a non-numeric cell early in a file read by two threads',
        () => scaledWithLine('early-error-x4.csv', 2, withOops),
        (path: string) => `${path}:3: column "params.accelRMS.x": "oops" is not a finite number`,
      ],
      [
        // Two threads read the file as several ranges, claimed in turns: the line of a sensor's
        // first row must still be counted from the top of the file.
        'a sensor first seen deep in a file read by two threads, refused on its line',
        () =>
          scaledWithLine('late-sensor-x4.csv', 130_000, (line) => {
            const fields = line.split(',');
            fields[HEADER.split(',').indexOf('sensorId')] = 'A B';
            return fields.join(',');
          }),
        (path: string) => `${path}:130001: column "sensorId": Invalid sensor id "A B": use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
      ],
    ])('%s', (_label, makeFile, message) => {
      const path = makeFile();
      const result = runCli('train', [path, '--threads', '2'], dbPath);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`train: ${message(path)}\n`);
      expect(snapshot(dbPath)).toEqual(before);
    });

    it.each(['many', '0', '-1', '-0.5', '0x10', '1e1', '2.0', ' 2', '17', '99999'])('a bad --threads (%j): exit 2, a usage error', (threads) => {
      const result = runCli('train', [COMMITTED, '--threads', threads], dbPath);
      expect(result).toEqual({ status: 2, stdout: '', stderr: 'train: --threads must be a whole number from 1 to 16, in decimal digits\n' });
    });

    it('--threads given twice', () => {
      const result = runCli('train', [COMMITTED, '--threads', '1', '--threads', '2'], dbPath);
      expect(result).toEqual({ status: 2, stdout: '', stderr: 'train: --threads is given more than once; give it once (run with --help for usage)\n' });
    });
  });

  describe('npm run alerts', () => {
    const dbPath = join(directory, 'alerts.db');
    beforeAll(() => {
      expect(runCli('train', [COMMITTED], dbPath).status).toBe(0);
    });

    it('prints a table with T for alerts, and how many', () => {
      const { status, stdout } = runCli('alerts', ['--value', '0.09'], dbPath);
      expect(status).toBe(0);
      const lines = stdout.trimEnd().split('\n');
      expect(lines[0]!.split(/\s+/)).toEqual(['sensor_id', 'params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z', 'params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z']);
      expect(lines[1]!.split(/\s+/)).toEqual(['IAJ9206', 'T', 'F', 'T', 'T', 'T', 'T']);
      expect(lines.at(-1)).toBe('T = alert (0.09 >= mean + 2 * std): 48 of 60');
    });

    it('prints the table of 130,000 sensors (past what a spread into Math.max can take)', () => {
      const manyPath = join(directory, 'alerts-many.db');
      copyFileSync(dbPath, manyPath);
      const db = new Database(manyPath);
      db.exec(`
        WITH RECURSIVE copy(number) AS (SELECT 1 UNION ALL SELECT number + 1 FROM copy WHERE number < 13000)
        INSERT INTO weights (sensor_id, metric, mean, std, n, version, updated_at, adjustment, moments)
        SELECT printf('C%05d-', number) || sensor_id, metric, mean, std, n, version, updated_at, adjustment, moments
        FROM weights, copy WHERE metric = 'params.velRMS.x'`);
      db.close();
      const { status, stdout, stderr } = runCli('alerts', ['--value', '0.09'], manyPath);
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      const lines = stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(1 + 10 + 130_000 + 1);
      expect(lines[1]!.split(/\s+/)).toEqual(['C00001-IAJ9206', 'T']);
      expect(lines.at(-1)).toMatch(/^T = alert \(0\.09 >= mean \+ 2 \* std\): \d+ of 130060$/);
    }, 60_000);

    it('prints CSV, for one sensor if asked', () => {
      const { stdout } = runCli('alerts', ['--value', '0.09', '--format', 'csv', '--sensor', 'MYD8706'], dbPath);
      expect(stdout).toBe(
        'sensor_id,params.accelRMS.x,params.accelRMS.y,params.accelRMS.z,params.velRMS.x,params.velRMS.y,params.velRMS.z\n' +
          'MYD8706,false,false,false,true,true,true\n',
      );
    });

    it.each([
      [['--value', '-3'], 'IAJ9206,false,false,false,false,false,false\n'],
      [['--value=-3'], 'IAJ9206,false,false,false,false,false,false\n'],
      [['--value', '-.5e1'], undefined], // not decimal as JSON writes it: refused below
      [['--value', '1e3'], 'IAJ9206,true,true,true,true,true,true\n'],
    ])('takes a negative or exponent --value (%j) as the API takes ?value=', (args, row) => {
      const result = runCli('alerts', [...args, '--format', 'csv', '--sensor', 'IAJ9206'], dbPath);
      if (row === undefined) {
        expect(result.status).toBe(2);
      } else {
        expect(result.stderr).toBe('');
        expect(result.stdout.split('\n')[1]).toBe(row.trimEnd());
      }
    });

    it.each([
      [['--value', 'x'], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got "x")'],
      [['--value', '0x10'], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got "0x10")'],
      [['--value', '0b11'], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got "0b11")'],
      [['--value', ' 1'], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got " 1")'],
      [['--value', ''], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got "")'],
      [['--value', '1e999'], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got "1e999")'],
      [['--value', 'Infinity'], 'alerts: --value must be a finite decimal number, e.g. 0.09 or -3 (got "Infinity")'],
      [[], 'alerts: --value is required: the reading to evaluate, e.g. --value 0.09 (or --thresholds)'],
      [['--format', 'csv'], 'alerts: --value is required: the reading to evaluate, e.g. --value 0.09 (or --thresholds)'],
      [['--thresholds', '--value', '1'], 'alerts: --thresholds prints the thresholds themselves: give it or --value, not both'],
      [['--value', '1', '--sensor', 'A', '--sensor', 'B'], 'alerts: --sensor is given more than once; give it once (run with --help for usage)'],
      [['--value', '1', '--value', '2'], 'alerts: --value is given more than once; give it once (run with --help for usage)'],
      [['--value', '1', '--format', 'xml'], 'alerts: --format must be one of table, json, csv'],
    ])('refuses %j in one line, exit 2 (a usage error)', (args, message) => {
      expect(runCli('alerts', args, dbPath)).toEqual({ status: 2, stdout: '', stderr: `${message}\n` });
    });

    it('answers a sensor without a model with one line, exit 1', () => {
      expect(runCli('alerts', ['--value', '1', '--sensor', 'SEN0002'], dbPath)).toEqual({ status: 1, stdout: '', stderr: 'alerts: Sensor "SEN0002" has no fitted model.\n' });
      expect(runCli('alerts', ['--thresholds', '--sensor', 'SEN0002'], dbPath)).toEqual({ status: 1, stdout: '', stderr: 'alerts: Sensor "SEN0002" has no fitted model.\n' });
    });
  });
});
