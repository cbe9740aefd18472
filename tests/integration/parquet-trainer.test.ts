import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InvalidReadingsError } from '../../src/application/invalid-readings.error';
import { ParquetReadingsSource } from '../../src/infrastructure/parquet/parquet-readings.source';
import { ParquetRowsReader } from '../../src/infrastructure/parquet/parquet-rows.reader';
import { runCli } from '../support/cli';
import { storedModels as stored, type StoredModel } from '../support/stored-models';
import { makeTempDir } from '../support/test-app';
import { unprivilegedUser } from '../support/unprivileged-user';

const COMMITTED = join(__dirname, '../../data/collects.csv');
const METRICS = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z', 'params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z'];

function convert(args: string[]) {
  return spawnSync(process.execPath, [join(__dirname, '../../dist/bin/convert.js'), ...args], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
}

/** Runs SQL in a throwaway DuckDB, to write fixtures and read back what convert wrote. */
async function duckdb<T>(sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await (await connection.run(sql)).getRows()) as T[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('Parquet input: npm run convert, then npm run train on the .parquet', () => {
  const directory = makeTempDir();
  const parquet = join(directory, 'collects.parquet');
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('converts the committed CSV to zstd Parquet: readings as doubles, ids as strings, every row', async () => {
    const converted = convert([COMMITTED, parquet]);
    expect(converted.stderr).toBe('');
    expect(converted.status).toBe(0);
    expect(converted.stdout).toMatch(/^converted 33,901 rows of .*collects\.csv \(4\.9 MB\) to .*collects\.parquet \([\d.]+ MB\) in [\d.]+ s\n$/);
    const types = new Map(await duckdb<[string, string]>(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${parquet}'))`));
    for (const metric of METRICS) expect(types.get(metric)).toBe('DOUBLE');
    expect(types.get('_id')).toBe('VARCHAR');
    expect(types.get('sensorId')).toBe('VARCHAR');
    const codecs = await duckdb<[string]>(`SELECT DISTINCT compression FROM parquet_metadata('${parquet}')`);
    expect(codecs).toEqual([['ZSTD']]);
    const [[rows, nulls]] = await duckdb<[bigint, bigint]>(`SELECT count(*), count(*) FILTER ("params.accelRMS.x" IS NULL) FROM read_parquet('${parquet}')`) as [[bigint, bigint]];
    expect([rows, nulls]).toEqual([33_901n, 460n]);
  });

  it('trains the same statistics as the CSV: means bit for bit, std to 1e-13, the same counts', () => {
    const fromCsv = join(directory, 'csv.db');
    const fromParquet = join(directory, 'parquet.db');
    expect(runCli('train', [COMMITTED], fromCsv).status).toBe(0);
    const trained = runCli('train', [parquet], fromParquet);
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    expect(trained.stdout).toMatch(/^trained 10 sensors x 6 columns from 33,901 rows of .*collects\.parquet \([\d.]+ MB\)/);
    const csvRows = stored(fromCsv);
    const parquetRows = stored(fromParquet);
    expect(parquetRows).toHaveLength(60);
    parquetRows.forEach((row, index) => {
      const expected = csvRows[index]!;
      expect({ ...row, std: 0 }).toEqual({ ...expected, std: 0 });
      expect(Math.abs(row.std - expected.std) / expected.std).toBeLessThanOrEqual(1e-13);
    });
  });

  it('splits a large file across threads at row group boundaries and still learns the exact means', async () => {
    // The case's rows 16 times (542,416 rows, several row groups): the exact mean of 16 copies
    // is the exact mean of one, so every stored mean must equal the committed file's, bit for bit.
    const large = join(directory, 'x16.parquet');
    await duckdb(`COPY (SELECT p.* FROM range(16) AS copies, read_parquet('${parquet}') AS p) TO '${large}' (FORMAT parquet, ROW_GROUP_SIZE 100000)`);
    const fromCsv = join(directory, 'csv.db');
    for (const threads of ['1', '2']) {
      const dbPath = join(directory, `x16-${threads}.db`);
      const trained = runCli('train', [large, '--threads', threads], dbPath);
      expect(trained.stderr).toBe('');
      expect(trained.stdout).toMatch(/^trained 10 sensors x 6 columns from 542,416 rows/);
      const expected = stored(fromCsv);
      stored(dbPath).forEach((row, index) => {
        expect({ sensor_id: row.sensor_id, metric: row.metric, mean: row.mean, n: row.n }).toEqual({ ...expected[index]!, std: undefined, version: undefined, n: expected[index]!.n * 16 });
      });
    }
  });

  it('reports a bad reading found by the second thread with its row in the whole file', async () => {
    const large = join(directory, 'x16-infinite.parquet');
    const row = `'S9' AS sensorId, ${METRICS.map((metric, index) => `${index === 4 ? "'-inf'" : '1'}::DOUBLE AS "${metric}"`).join(', ')}`;
    await duckdb(
      `COPY (SELECT * FROM (SELECT p.sensorId, ${METRICS.map((metric) => `p."${metric}"`).join(', ')} FROM range(16) AS copies, read_parquet('${parquet}') AS p) ` +
        `UNION ALL SELECT ${row}) TO '${large}' (FORMAT parquet, ROW_GROUP_SIZE 100000)`,
    );
    const dbPath = join(directory, 'x16-infinite.db');
    const failed = runCli('train', [large, '--threads', '2'], dbPath);
    expect(failed.stderr).toBe(`train: ${large}:542417: column "params.accelRMS.y": -Infinity is not a finite number\n`);
    expect(failed.status).toBe(1);
  });

  it('reports the first bad reading in file order when threads reading different row groups both meet one', async () => {
    // Rows 40,000 (first row group) and 500,000 (the last but one) are infinite: whichever thread reads a range, the earlier is reported.
    const large = join(directory, 'x16-two-infinities.parquet');
    const cells = METRICS.map((metric, index) =>
      index === 2 ? `CASE WHEN n = 40000 THEN 'inf'::DOUBLE ELSE "${metric}" END AS "${metric}"` : index === 0 ? `CASE WHEN n = 500000 THEN '-inf'::DOUBLE ELSE "${metric}" END AS "${metric}"` : `"${metric}"`,
    );
    await duckdb(
      `COPY (SELECT sensorId, ${cells.join(', ')} FROM (SELECT row_number() OVER () AS n, p.* FROM range(16) AS copies, read_parquet('${parquet}') AS p) ORDER BY n) ` +
        `TO '${large}' (FORMAT parquet, ROW_GROUP_SIZE 100000)`,
    );
    const failed = runCli('train', [large, '--threads', '2'], join(directory, 'x16-two-infinities.db'));
    expect(failed.stderr).toBe(`train: ${large}:40000: column "${METRICS[2]}": Infinity is not a finite number\n`);
    expect(failed.status).toBe(1);
  });

  it('reads a file by --format parquet whatever its name, and skips nulls and NaN', async () => {
    const fixture = join(directory, 'gaps.parquet');
    const cells = (values: string[]) => METRICS.map((metric, index) => `${values[index]}::DOUBLE AS "${metric}"`).join(', ');
    await duckdb(
      `COPY (SELECT 'S1' AS sensorId, ${cells(['1', '2', 'NULL', "'NaN'", '5', '6'])} UNION ALL ` +
        `SELECT 'S1', ${cells(['3', '4', '1', '2', "'NaN'", 'NULL'])} UNION ALL ` +
        `SELECT 'S1', ${cells(['8', '9', '4', '8', '11', '7'])} UNION ALL ` +
        `SELECT 'S1', ${cells(['NULL', "'NaN'", '7', '5', '14', '8'])}) TO '${fixture}' (FORMAT parquet)`,
    );
    const renamed = join(directory, 'gaps.data');
    copyFileSync(fixture, renamed);
    const dbPath = join(directory, 'gaps.db');
    const trained = runCli('train', [renamed, '--format', 'parquet'], dbPath);
    expect(trained.stderr).toBe('');
    // By hand: x = 1, 3, 8 (mean 4, M2 9 + 1 + 16 = 26); y = 2, 4, 9 (mean 5, M2 9 + 1 + 16); z = 1, 4, 7 (mean 4, M2 18);
    // accel x = 2, 8, 5 (mean 5, M2 18); accel y = 5, 11, 14 (mean 10, M2 25 + 1 + 16 = 42); accel z = 6, 7, 8 (mean 7, M2 2).
    const expected = new Map([
      ['params.velRMS.x', [4, Math.sqrt(13)]],
      ['params.velRMS.y', [5, Math.sqrt(13)]],
      ['params.velRMS.z', [4, 3]],
      ['params.accelRMS.x', [5, 3]],
      ['params.accelRMS.y', [10, Math.sqrt(21)]],
      ['params.accelRMS.z', [7, 1]],
    ]);
    for (const { metric, mean, std, n } of stored(dbPath)) {
      expect({ metric, mean, std, n }).toEqual({ metric, mean: expected.get(metric)![0], std: expected.get(metric)![1], n: 3 });
    }
  });

  it('reads a DECIMAL column DuckDB might not round to the nearest double as its text, parsed as the CSV path parses it', async () => {
    // DuckDB's DECIMAL to DOUBLE cast rounds the unscaled integer first once it passes 2^53,
    // then divides by 10^scale (not exact past 10^22). Per column: its type, and how many
    // whole digits its values have; the last column is wide, but its statistics show small
    // values, and DECIMAL(9,4) is narrow: both are cast by DuckDB.
    const columns: Array<[type: string, wholeDigits: number, asText: boolean]> = [
      ['DECIMAL(18,17)', 1, true],
      ['DECIMAL(38,20)', 17, true],
      ['DECIMAL(9,4)', 5, false],
      ['DECIMAL(18,2)', 16, true],
      ['DECIMAL(38,30)', 8, true],
      ['DECIMAL(18,6)', 3, false],
    ];
    let seed = 12345;
    const digits = (count: number) => Array.from({ length: count }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % 10)).join('');
    const cellOf = (row: number, metric: number): string => {
      if ((row + metric) % 97 === 0) return ''; // null
      const [type, wholeDigits] = columns[metric]!;
      const scale = Number(type.match(/,(\d+)/)![1]);
      return `${row % 5 === 0 ? '-' : ''}${1 + (row % 9)}${digits(wholeDigits - 1)}.${digits(scale)}`;
    };
    // Three rows per sensor (one may be null): a mean of so few readings shows a reading one ulp off.
    const rows = Array.from({ length: 3000 }, (_, row) => [`S${Math.floor(row / 3)}`, ...METRICS.map((_, metric) => cellOf(row, metric))]);
    const csv = join(directory, 'decimals.csv');
    writeFileSync(csv, `sensorId,${METRICS.join(',')}\n${rows.map((cells) => cells.join(',')).join('\n')}\n`);
    const fixture = join(directory, 'decimals.parquet');
    const casts = METRICS.map((metric, index) => `CAST("${metric}" AS ${columns[index]![0]}) AS "${metric}"`).join(', ');
    await duckdb(`COPY (SELECT sensorId, ${casts} FROM read_csv('${csv}', header = true, all_varchar = true)) TO '${fixture}' (FORMAT parquet)`);
    // The fixture does test something: DuckDB's cast misses the nearest double of some cells,
    // and none in the columns it still casts.
    const cast = await duckdb<number[]>(`SELECT ${METRICS.map((metric) => `CAST("${metric}" AS DOUBLE)`).join(', ')} FROM read_parquet('${fixture}')`);
    const missed = METRICS.map((_, metric) => cast.filter((values, row) => rows[row]![metric + 1] !== '' && values[metric] !== Number(rows[row]![metric + 1])).length);
    expect(missed[0]! + missed[1]!).toBeGreaterThan(0);
    expect(missed.filter((_, metric) => !columns[metric]![2])).toEqual([0, 0]);

    const reader = await ParquetRowsReader.open(fixture, fixture, 1);
    try {
      expect((await reader.checkSchema('sensorId', METRICS)).decimalText).toEqual(columns.map(([, , asText]) => asText));
    } finally {
      reader.close();
    }
    const fromParquet = join(directory, 'decimals-parquet.db');
    const fromCsv = join(directory, 'decimals-csv.db');
    expect(runCli('train', [fixture, '--threads', '1'], fromParquet).stderr).toBe('');
    expect(runCli('train', [csv, '--threads', '1'], fromCsv).stderr).toBe('');
    const learned = stored(fromParquet);
    expect(learned).toHaveLength(1000 * 6);
    expect(learned).toEqual(stored(fromCsv));
  });

  describe('column by column, several chunks of 2,048 rows', () => {
    // 5,000 rows: runs of one sensor that cross chunk boundaries, a stretch alternating
    // between two ids row by row, an id too long to sit inline in DuckDB's string entry
    // (more than 12 bytes) met again after other ids, and nulls and NaNs scattered over
    // every column. Readings are quarters of small integers: sums are exact in doubles.
    const LONG_ID = 'a-sensor-with-a-long-id';
    const ROWS = 5000;
    const sensorOf = (row: number): string =>
      row < 1500 ? 'A' : row < 2100 ? LONG_ID : row < 2200 ? (row % 2 === 0 ? 'A' : 'B') : row < 4500 ? LONG_ID : row < 4700 ? 'B' : 'A';
    /** A reading, or null (an empty cell) or NaN. */
    const readingOf = (row: number, metric: number): number | null =>
      (row + metric) % (7 + metric) === 0 ? null : row % 53 === metric ? Number.NaN : (((row * (2 * metric + 3)) % 101) - 50) / 4;
    const csvCell = (value: number | null) => (value === null ? '' : Number.isNaN(value) ? 'NaN' : String(value));

    /** Writes the rows (with `override` applied) as CSV and as Parquet converted from it by DuckDB, in row order. */
    async function fixture(name: string, override: (row: number, metric: number) => string | undefined = () => undefined, sensor = sensorOf) {
      const csv = join(directory, `${name}.csv`);
      const lines = Array.from({ length: ROWS }, (_, row) => [sensor(row), ...METRICS.map((_, metric) => override(row, metric) ?? csvCell(readingOf(row, metric)))].join(','));
      writeFileSync(csv, `sensorId,${METRICS.join(',')}\n${lines.join('\n')}\n`);
      const parquetPath = join(directory, `${name}.parquet`);
      const types = METRICS.map((metric) => `'${metric}': 'DOUBLE'`).join(', ');
      await duckdb(`COPY (SELECT * FROM read_csv('${csv}', header = true, types = {'sensorId': 'VARCHAR', ${types}})) TO '${parquetPath}' (FORMAT parquet)`);
      return { csv, parquet: parquetPath };
    }

    it('learns what an exact computation in the test gives, and exactly what the CSV path gives', async () => {
      const files = await fixture('columns');
      const fromParquet = join(directory, 'columns-parquet.db');
      const trained = runCli('train', [files.parquet, '--threads', '1'], fromParquet);
      expect(trained.stderr).toBe('');
      expect(trained.stdout).toMatch(/^trained 3 sensors x 6 columns from 5,000 rows/);
      // Independently: per (sensor, metric), in quarters (integers), n, sum and sum of squares.
      const totals = new Map<string, { n: number; sum: bigint; squares: bigint }>();
      for (let row = 0; row < ROWS; row++) {
        METRICS.forEach((metric, index) => {
          const value = readingOf(row, index);
          if (value === null || Number.isNaN(value)) return;
          const key = `${sensorOf(row)} ${metric}`;
          const total = totals.get(key) ?? { n: 0, sum: 0n, squares: 0n };
          const quarters = BigInt(value * 4);
          totals.set(key, { n: total.n + 1, sum: total.sum + quarters, squares: total.squares + quarters * quarters });
        });
      }
      const rows = stored(fromParquet);
      expect(rows).toHaveLength(18);
      for (const { sensor_id, metric, mean, std, n } of rows) {
        const total = totals.get(`${sensor_id} ${metric}`)!;
        expect(n).toBe(total.n);
        // The exact sum is a double (a multiple of 1/4 below 2^50): one division rounds the exact mean.
        expect(mean).toBe(Number(total.sum) / 4 / total.n);
        // M2 * 16 * n = n * sum(q^2) - sum(q)^2, an exact integer: std to a few ulps.
        const variance = Number(BigInt(total.n) * total.squares - total.sum * total.sum) / (16 * total.n * (total.n - 1));
        expect(Math.abs(std - Math.sqrt(variance)) / Math.sqrt(variance)).toBeLessThan(1e-15);
      }
      // One thread each, readings met in the same order: the CSV path's figures, bit for bit.
      const fromCsv = join(directory, 'columns-csv.db');
      expect(runCli('train', [files.csv, '--threads', '1'], fromCsv).stderr).toBe('');
      expect(rows).toEqual(stored(fromCsv));
    });

    it('names the first infinity in row order, then column order, even when a later column holds it', async () => {
      // Row 3,001 (0-based 3,000) holds infinities in its 4th and 6th columns, row 3,002 in its 1st.
      const files = await fixture('infinities', (row, metric) => (row === 3000 && (metric === 3 || metric === 5) ? 'inf' : row === 3001 && metric === 0 ? '-inf' : undefined));
      const failed = runCli('train', [files.parquet], join(directory, 'infinities.db'));
      expect(failed.stderr).toBe(`train: ${files.parquet}:3001: column "${METRICS[3]}": Infinity is not a finite number\n`);
      expect(failed.status).toBe(1);
    });

    it('reads a null sensor id in the middle of a chunk as an empty id, refused on its row', async () => {
      const files = await fixture('null-id', undefined, (row) => (row === 4000 ? '' : sensorOf(row)));
      const nulls = await duckdb<[bigint]>(`SELECT count(*) FROM read_parquet('${files.parquet}') WHERE sensorId IS NULL`);
      expect(nulls).toEqual([[1n]]);
      const failed = runCli('train', [files.parquet], join(directory, 'null-id.db'));
      expect(failed.stderr).toMatch(new RegExp(`^train: ${files.parquet.replaceAll('.', '\\.')}:4001: column "sensorId": .+\n$`));
      expect(failed.status).toBe(1);
    });
  });

  describe('stops with one line naming file and column, exit 1, nothing written', () => {
    const dbPath = join(directory, 'guarded.db');
    let before: StoredModel[];
    beforeAll(() => {
      expect(runCli('train', [parquet], dbPath).status).toBe(0);
      before = stored(dbPath);
    });

    const cases: Array<[string, () => Promise<string>, string]> = [
      [
        'a missing column',
        async () => {
          const path = join(directory, 'missing.parquet');
          await duckdb(`COPY (SELECT * EXCLUDE ("params.accelRMS.y") FROM read_parquet('${parquet}')) TO '${path}' (FORMAT parquet)`);
          return path;
        },
        ': missing required column "params.accelRMS.y"',
      ],
      [
        'a column of strings',
        async () => {
          const path = join(directory, 'strings.parquet');
          await duckdb(`COPY (SELECT * REPLACE (CAST("params.velRMS.z" AS VARCHAR) AS "params.velRMS.z") FROM read_parquet('${parquet}')) TO '${path}' (FORMAT parquet)`);
          return path;
        },
        ': column "params.velRMS.z": holds VARCHAR, not numbers',
      ],
      [
        'a list of readings per row',
        async () => {
          const path = join(directory, 'lists.parquet');
          await duckdb(`COPY (SELECT * REPLACE (["params.velRMS.y"] AS "params.velRMS.y") FROM read_parquet('${parquet}')) TO '${path}' (FORMAT parquet)`);
          return path;
        },
        ': column "params.velRMS.y": holds DOUBLE[], not numbers',
      ],
      [
        'a struct for the sensor id',
        async () => {
          const path = join(directory, 'struct-id.parquet');
          await duckdb(`COPY (SELECT * REPLACE ({'id': sensorId} AS sensorId) FROM read_parquet('${parquet}')) TO '${path}' (FORMAT parquet)`);
          return path;
        },
        ': column "sensorId": holds STRUCT(id VARCHAR), not sensor ids',
      ],
      [
        'a sensor id column named in another case',
        async () => {
          const path = join(directory, 'case-id.parquet');
          await duckdb(`COPY (SELECT * EXCLUDE (sensorId), sensorId AS SensorID FROM read_parquet('${parquet}')) TO '${path}' (FORMAT parquet)`);
          return path;
        },
        ': missing required column "sensorId"',
      ],
      [
        'a corrupt file (cut short)',
        async () => {
          const path = join(directory, 'cut.parquet');
          writeFileSync(path, readFileSync(parquet).subarray(0, 100_000));
          return path;
        },
        ': not a readable Parquet file (',
      ],
      ['a missing file', async () => join(directory, 'nothing.parquet'), ': no such file'],
    ];
    it.each(cases)('%s', async (_label, makeFile, message) => {
      const path = await makeFile();
      const failed = runCli('train', [path], dbPath);
      expect(failed.status).toBe(1);
      expect(failed.stdout).toBe('');
      expect(failed.stderr.startsWith(`train: ${path}${message}`)).toBe(true);
      expect(failed.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stored(dbPath)).toEqual(before);
    });
  });

  describe('convert refuses an output it should not write, before reading anything, exit 2', () => {
    const csv = () => {
      const path = join(directory, 'input.csv');
      writeFileSync(path, `sensorId,${METRICS.join(',')}\nS1,1,2,3,4,5,6\nS1,2,3,4,5,6,7\n`);
      return path;
    };

    it.each([
      ['the input itself', (input: string) => input, (input: string) => `${input} is the input file itself: write the Parquet file elsewhere`],
      ['the input by a relative path', (input: string) => relative(process.cwd(), input), (input: string) => `${relative(process.cwd(), input)} is the input file itself: write the Parquet file elsewhere`],
      ['the input through a hard link, even with --force', (input: string) => {
        const link = join(directory, 'link.parquet');
        rmSync(link, { force: true });
        linkSync(input, link);
        return link;
      }, () => `${join(directory, 'link.parquet')} is the input file itself: write the Parquet file elsewhere`],
    ])('%s', (_label, output, message) => {
      const input = csv();
      const before = readFileSync(input, 'utf8');
      const converted = convert([input, output(input), '--force']);
      expect({ status: converted.status, stdout: converted.stdout, stderr: converted.stderr }).toEqual({ status: 2, stdout: '', stderr: `convert: ${message(input)}\n` });
      expect(readFileSync(input, 'utf8')).toBe(before);
    });

    it('a name that does not end in .parquet or .pq, unless --force', () => {
      const input = csv();
      const other = join(directory, 'other.csv');
      writeFileSync(other, 'keep me\n');
      const refused = convert([input, other]);
      expect({ status: refused.status, stderr: refused.stderr }).toEqual({
        status: 2,
        stderr: `convert: ${other} does not end in .parquet or .pq: is it the file you meant to replace? (--force writes it anyway)\n`,
      });
      expect(readFileSync(other, 'utf8')).toBe('keep me\n');
      const forced = convert([input, other, '--force']);
      expect(forced.stderr).toBe('');
      expect(forced.status).toBe(0);
      expect(readFileSync(other).subarray(0, 4).toString()).toBe('PAR1');
    });

    it('a folder, in one line', () => {
      const folder = join(directory, 'out.parquet');
      mkdirSync(folder, { recursive: true });
      const converted = convert([csv(), folder]);
      expect({ status: converted.status, stdout: converted.stdout, stderr: converted.stderr }).toEqual({
        status: 2,
        stdout: '',
        stderr: `convert: ${folder} is a folder: name the Parquet file to write, e.g. ${join(folder, 'readings.parquet')}\n`,
      });
    });

    it.each([
      ['a FIFO', (path: string) => execFileSync('mkfifo', [path])],
      ['a link to a device', (path: string) => symlinkSync('/dev/null', path)],
    ])('%s, even with --force: it is left as it was', (_label, make) => {
      const output = join(directory, 'special.parquet');
      rmSync(output, { force: true });
      make(output);
      const converted = convert([csv(), output, '--force']);
      expect({ status: converted.status, stdout: converted.stdout, stderr: converted.stderr }).toEqual({
        status: 2,
        stdout: '',
        stderr: `convert: ${output} is not a regular file (a FIFO, device or socket): name a file to write\n`,
      });
      const after = lstatSync(output);
      expect(after.isFIFO() || after.isSymbolicLink()).toBe(true);
      expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
      rmSync(output);
    });

    it('through a symbolic link: writes its target, and the link stays a link (as cp and > do)', () => {
      const input = csv();
      const target = join(directory, 'linked-target.parquet');
      const link = join(directory, 'link.parquet');
      rmSync(target, { force: true });
      rmSync(link, { force: true });
      // A link whose target does not exist yet, then one whose target does.
      symlinkSync('linked-target.parquet', link);
      for (let run = 0; run < 2; run++) {
        const converted = convert([input, link]);
        expect({ status: converted.status, stderr: converted.stderr }).toEqual({ status: 0, stderr: '' });
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        expect(readFileSync(target).subarray(0, 4).toString()).toBe('PAR1');
      }
      // A .parquet link to a file that is not Parquet by name is that file: not replaced without --force.
      const other = join(directory, 'notes.txt');
      writeFileSync(other, 'keep me\n');
      rmSync(link);
      symlinkSync(other, link);
      const refused = convert([input, link]);
      expect({ status: refused.status, stderr: refused.stderr }).toEqual({
        status: 2,
        stderr: `convert: ${link} is a link to ${other}, which does not end in .parquet or .pq: is it the file you meant to replace? (--force writes it anyway)\n`,
      });
      expect(readFileSync(other, 'utf8')).toBe('keep me\n');
      rmSync(link);
    });

    it('a missing folder, naming the output, not the input', () => {
      const output = join(directory, 'missing', 'out.parquet');
      const converted = convert([csv(), output]);
      expect({ status: converted.status, stderr: converted.stderr }).toEqual({
        status: 2,
        stderr: `convert: cannot write ${output}: its folder ${join(directory, 'missing')} does not exist\n`,
      });
    });

    it('a folder it may not write, naming that folder, not the input', () => {
      const folder = join(directory, 'not-writable');
      mkdirSync(folder, { recursive: true });
      chmodSync(directory, 0o755);
      chmodSync(folder, 0o555);
      const { uid, user } = unprivilegedUser();
      const output = join(folder, 'out.parquet');
      const converted = spawnSync(process.execPath, [join(__dirname, '../../dist/bin/convert.js'), csv(), output], { env: { PATH: process.env.PATH }, encoding: 'utf8', ...user });
      expect({ status: converted.status, stdout: converted.stdout, stderr: converted.stderr }).toEqual({
        status: 2,
        stdout: '',
        stderr: `convert: cannot write ${output}: this process (uid ${uid}) may not write its folder ${folder}\n`,
      });
    });

    it('a failed write, naming the output, not the input, and leaving no file', () => {
      // Written first to OUT.partial: a dangling link there makes DuckDB's write fail; a folder there is in the way.
      const dangling = join(directory, 'dangling.parquet');
      symlinkSync(join(directory, 'no-such-folder', 'x'), `${dangling}.partial`);
      expect(convert([csv(), dangling])).toMatchObject({
        status: 1,
        stdout: '',
        stderr: `convert: ${dangling}: cannot write it (IO Error: Cannot open file "${dangling}.partial": No such file or directory)\n`,
      });
      expect(existsSync(dangling)).toBe(false);
      const blocked = join(directory, 'blocked.parquet');
      mkdirSync(`${blocked}.partial`);
      expect(convert([csv(), blocked])).toMatchObject({ status: 1, stdout: '', stderr: `convert: ${blocked}: cannot write it: ${blocked}.partial, where it is written first, is a folder\n` });
      expect(existsSync(blocked)).toBe(false);
    });

    it('a byte that is not UTF-8 in a column the trainer does not read: names the line and says to re-encode, leaving no file', () => {
      const input = join(directory, 'cp1252.csv');
      writeFileSync(input, Buffer.concat([Buffer.from(`sensorId,${METRICS.join(',')},note\nS1,1,2,3,4,5,6,ok\nS1,2,3,4,5,6,7,caf`), Buffer.from([0xe9]), Buffer.from('\n')]));
      const output = join(directory, 'cp1252.parquet');
      expect(convert([input, output])).toMatchObject({
        status: 1,
        stdout: '',
        stderr:
          `convert: ${input}:3: cannot convert: the line holds bytes that are not UTF-8, in a column the trainer does not read, and DuckDB's CSV reader, ` +
          'which writes the Parquet file, reads UTF-8 only. Re-encode the file as UTF-8 (e.g. iconv -f WINDOWS-1252 -t UTF-8), or train the CSV itself\n',
      });
      expect(existsSync(output)).toBe(false);
    });

    it('replaces an existing Parquet output (as documented)', () => {
      const output = join(directory, 'replaced.parquet');
      writeFileSync(output, 'old');
      const converted = convert([csv(), output]);
      expect(converted.status).toBe(0);
      expect(converted.stdout).toMatch(/^converted 2 rows of /);
      expect(readFileSync(output).subarray(0, 4).toString()).toBe('PAR1');
    });
  });

  it('reads the file it is given even when its name looks like a glob pattern to DuckDB (?, *, [)', () => {
    const folder = join(directory, 'globs');
    mkdirSync(folder);
    // Siblings a pattern would match: r?.parquet matches rA.parquet, c[1].csv matches c1.csv.
    copyFileSync(parquet, join(folder, 'r?.parquet'));
    copyFileSync(parquet, join(folder, 'rA.parquet'));
    const trained = runCli('train', [join(folder, 'r?.parquet')], join(folder, 'r.db'));
    expect(trained.stderr).toBe('');
    expect(trained.stdout).toMatch(/^trained 10 sensors x 6 columns from 33,901 rows of /);
    copyFileSync(COMMITTED, join(folder, 'c[1].csv'));
    writeFileSync(join(folder, 'c1.csv'), readFileSync(COMMITTED, 'utf8').split('\n').slice(0, 11).join('\n'));
    const converted = convert([join(folder, 'c[1].csv'), join(folder, 'c.parquet')]);
    expect(converted.stderr).toBe('');
    expect(converted.stdout).toMatch(/^converted 33,901 rows of /);
  });

  it('refuses a Parquet file that changes while it is read, so that nothing is stored', async () => {
    const moving = join(directory, 'moving.parquet');
    copyFileSync(parquet, moving);
    let touched = false;
    const source = new ParquetReadingsSource(moving, METRICS, {
      threads: 1,
      onProgress: () => {
        if (touched) return;
        touched = true;
        utimesSync(moving, new Date(), new Date(Date.now() + 5_000)); // as a writer would leave it
      },
    });
    await expect(source.summarize()).rejects.toThrow(
      new InvalidReadingsError(moving, 'the file changed while it was read (its size or times moved, or it is gone): nothing was written; run again once it is complete'),
    );
  });

  it('converts cells padded with any white space String.prototype.trim removes, as the trainer reads them', () => {
    const padded = join(directory, 'padded.csv');
    const spaces = [' ', '\t', '\u00a0', '\u2003', '\ufeff', '\u3000'];
    const rows = spaces.map((space, index) => `P,${space}${index + 1}${space},"${space}2${space}",3,4,5,${space}${index === 0 ? 'NaN' : index}${space}`);
    writeFileSync(padded, `sensorId,${METRICS.join(',')}\n${rows.join('\n')}\n`);
    const out = join(directory, 'padded.parquet');
    expect(convert([padded, out]).stderr).toBe('');
    const fromCsv = join(directory, 'padded-csv.db');
    const fromParquet = join(directory, 'padded-parquet.db');
    expect(runCli('train', [padded], fromCsv).stderr).toBe('');
    expect(runCli('train', [out], fromParquet).stderr).toBe('');
    expect(stored(fromParquet)).toEqual(stored(fromCsv));
    expect(stored(fromCsv).find((row) => row.metric === METRICS[0])).toMatchObject({ mean: 3.5, n: 6 });
  });

  it('says a Parquet file named like a CSV is Parquet, and how to read it, instead of missing columns', () => {
    const disguised = join(directory, 'disguised.csv');
    copyFileSync(parquet, disguised);
    const trained = runCli('train', [disguised], join(directory, 'disguised.db'));
    expect({ status: trained.status, stdout: trained.stdout, stderr: trained.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `train: ${disguised}: is a Parquet file (it starts with PAR1), not a CSV: train reads it as Parquet when its name ends in .parquet, or with --format parquet\n`,
    });
    expect(runCli('train', [disguised, '--format', 'parquet'], join(directory, 'disguised.db')).status).toBe(0);
  });

  it('convert refuses columns that DuckDB would rename (equal but for case, or twice), naming them, and leaves no output', () => {
    const readings = 'params.velRMS.x,params.velRMS.y,params.velRMS.z,params.accelRMS.x,params.accelRMS.y,params.accelRMS.z';
    const cases: Array<[header: string, reason: string]> = [
      [`SENSORID,sensorId,${readings}`, 'columns "SENSORID" and "sensorId" differ only in case or surrounding spaces'],
      [`sensorId,note,${readings},note`, 'column "note" appears twice'],
      [`sensorId,${readings},note ,note`, 'columns "note " and "note" differ only in case or surrounding spaces'],
    ];
    for (const [header, reason] of cases) {
      const csv = join(directory, 'clash.csv');
      writeFileSync(csv, `${header}\n${header.split(',').map((name, index) => (name === 'sensorId' ? 'S1' : String(index))).join(',')}\n`);
      const output = join(directory, 'clash.parquet');
      const result = convert([csv, output]);
      expect(result.stderr).toBe(`convert: ${csv}: ${reason}: DuckDB, which writes the Parquet file, cannot keep them apart (it would rename the second); rename one, or train the CSV itself\n`);
      expect(result.status).toBe(1);
      expect(existsSync(output)).toBe(false);
    }
  });

  it('convert refuses a non-numeric reading, naming file and column, and leaves no output', () => {
    const csv = join(directory, 'bad.csv');
    writeFileSync(csv, `sensorId,${METRICS.join(',')}\nS1,1,2,3,4,5,6\nS1,1,2,3,4,x5,6\n`);
    const out = join(directory, 'bad.parquet');
    const converted = convert([csv, out]);
    expect(converted.status).toBe(1);
    expect(converted.stderr).toBe(`convert: ${csv}:3: column "params.accelRMS.y": "x5" is not a finite number\n`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it.each([
    ['a row of the wrong length', `sensorId,${METRICS.join(',')}\nA,1,2,3,4,5,6\nA,2,3,4,5,6\n`, ':3: expected 7 fields, found 6'],
    ['an empty file', '', ':1: the file is empty: expected a header line'],
  ])('convert refuses %s as the trainer does, in its words and with the line, and leaves no output', (_kind, text, error) => {
    const csv = join(directory, 'refused.csv');
    writeFileSync(csv, text);
    const out = join(directory, 'refused.parquet');
    const trained = runCli('train', [csv], join(directory, 'refused.db'));
    const converted = convert([csv, out]);
    expect({ status: converted.status, stdout: converted.stdout, stderr: converted.stderr }).toEqual({ status: 1, stdout: '', stderr: `convert: ${csv}${error}\n` });
    expect(trained.stderr).toBe(`train: ${csv}${error}\n`);
    expect(existsSync(out)).toBe(false);
  });
});
