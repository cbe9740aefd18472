import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { appendFileSync, closeSync, fstatSync, openSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidReadingsError } from '../../src/application/invalid-readings.error';
import { VIBRATION_METRICS } from '../../src/domain/vibration-metrics';
import { CsvRangeScanner } from '../../src/infrastructure/csv/csv-range.scanner';
import { CsvReadingsSource } from '../../src/infrastructure/csv/csv-readings.source';
import { makeTempDir } from '../support/test-app';

interface Row {
  sensorId: string;
  readings: number[];
  line: number;
}

const directory = makeTempDir();
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let fileCounter = 0;
function csvFile(content: string | Buffer): string {
  const path = join(directory, `readings-${fileCounter++}.csv`);
  writeFileSync(path, content);
  return path;
}

/** Every row as the scanner visits it, whole file in one range. */
function readRows(path: string, metrics: readonly string[] = ['a', 'b'], chunkBytes = 1 << 20): Row[] {
  const rows: Row[] = [];
  const fd = openSync(path, 'r');
  try {
    const scanner = new CsvRangeScanner(path, fd, metrics, 'sensorId', chunkBytes);
    const header = scanner.readHeader();
    scanner.scan(header, header.dataStart, fstatSync(fd).size, header.dataLine, (sensorId, readings, line) =>
      rows.push({ sensorId, readings: [...readings], line }),
    );
  } finally {
    closeSync(fd);
  }
  return rows;
}

/** The message of the error the whole source (open, header, rows) gives. */
async function readError(path: string, metrics: readonly string[] = ['a', 'b']): Promise<string> {
  try {
    await new CsvReadingsSource(path, metrics).summarize();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidReadingsError);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidReadingsError');
}

describe('CsvReadingsSource', () => {
  const expected: Row[] = [
    { sensorId: 'S1', readings: [1.5, 2], line: 2 },
    { sensorId: 'S2', readings: [Number.NaN, 0.25], line: 3 },
  ];

  it.each([
    ['LF with a final newline', 'sensorId,a,b\nS1,1.5,2\nS2,,0.25\n'],
    ['LF without a final newline', 'sensorId,a,b\nS1,1.5,2\nS2,,0.25'],
    ['CRLF with a final newline', 'sensorId,a,b\r\nS1,1.5,2\r\nS2,,0.25\r\n'],
    ['CRLF without a final newline', 'sensorId,a,b\r\nS1,1.5,2\r\nS2,,0.25'],
    ['a UTF-8 byte order mark', '\uFEFFsensorId,a,b\nS1,1.5,2\nS2,,0.25\n'],
    ['columns in another order, and extra ones', 'b,extra,sensorId,a,more\n2,x,S1,1.5,y\n0.25,,S2,,z\n'],
    ['quoted fields', '"sensorId","a","b"\n"S1","1.5","2"\n"S2","","0.25"\n'],
    ['commas, quotes and newlines inside quoted fields', 'note,sensorId,a,b\n"x, ""y""",S1,1.5,2\n"multi\nline",S2,,0.25\n'],
    ['spaces around header names', ' sensorId , a ,b\nS1,1.5,2\nS2,,0.25\n'],
    ['pandas missing markers', 'sensorId,a,b\nS1,1.5,2\nS2,NaN,0.25\n'],
  ])('reads %s', async (_label, content) => {
    expect(readRows(csvFile(content))).toEqual(expected);
  });

  it.each([
    ['grows (a copy still being written)', (path: string) => appendFileSync(path, 'S1,1,2\n')],
    ['is cut short', (path: string) => truncateSync(path, 1000)],
    ['is rewritten in place, to the same size', (path: string) => writeFileSync(path, readFileSync(path))],
  ])('refuses a file that %s while it is read, so that nothing is stored', async (_label, change) => {
    const path = csvFile(`sensorId,a,b\n${'S1,1.5,2\nS2,0.5,0.25\n'.repeat(20_000)}`);
    let changed = false;
    const source = new CsvReadingsSource(path, ['a', 'b'], {
      chunkBytes: 64 * 1024,
      threads: 1,
      onProgress: () => {
        if (changed) return;
        changed = true;
        // Later than the read's start by more than any file system's timestamp granularity.
        utimesSync(path, new Date(), new Date(Date.now() + 5_000));
        change(path);
      },
    });
    await expect(source.summarize()).rejects.toThrow(
      new InvalidReadingsError(path, 'the file changed while it was read (its size or times moved, or it is gone): nothing was written; run again once it is complete'),
    );
  });

  it('numbers the line each row starts on, counting newlines inside quotes and skipping blank lines', async () => {
    const rows = readRows(csvFile('sensorId,a,b,note\n\nS1,1,2,"two\nlines"\n\r\nS2,3,4,plain\n'));
    expect(rows.map((row) => [row.sensorId, row.line])).toEqual([
      ['S1', 3],
      ['S2', 6],
    ]);
  });

  it('parses every decimal form as Number() does, and every pandas missing marker as missing', async () => {
    const cells = ['0', '-0', '+3', '.5', '5.', '-0.000812345', '1e-7', '2.5E+3', '123456789012345678', '0.1234567890123456789', '00042', ' 7 '];
    const markers = ['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null'];
    const content = `sensorId,a,b\n${[...cells, ...markers].map((cell) => `S,${cell},1`).join('\n')}\n`;
    const rows = readRows(csvFile(content));
    expect(rows.map((row) => row.readings[0])).toEqual([...cells.map((cell) => Number(cell)), ...markers.map(() => Number.NaN)]);
    expect(Object.is(rows[1]!.readings[0], -0)).toBe(true);
  });

  it('parses digits that exceed 2^53 as Number() does (0.9007199254740993, not ...992)', () => {
    const cells = ['0.9007199254740993', '9007199254740993', '900719925474099.3', '9007199254740992', '9007199254740991', '0.9007199254740991'];
    const content = `sensorId,a,b\n${cells.map((cell) => `S,${cell},1`).join('\n')}\n`;
    expect(readRows(csvFile(content)).map((row) => row.readings[0])).toEqual(cells.map(Number));
    expect(readRows(csvFile(content))[0]!.readings[0]).toBe(0.9007199254740993);
  });

  describe('every cell parses to exactly the double Number() gives (property test)', () => {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const decimal = fc.oneof(
      // 16 to 20 significant digits, the dot anywhere (the fast path's edge: 2^53 has 16 digits)
      fc.tuple(digits(16, 20), fc.nat(20)).map(([text, dot]) => `${text.slice(0, dot)}.${text.slice(dot)}`),
      // around 2^53, with and without a fraction
      fc.integer({ min: -2000, max: 2000 }).map((offset) => String(2 ** 53 + offset)),
      fc.tuple(fc.integer({ min: -2000, max: 2000 }), fc.integer({ min: 1, max: 16 })).map(([offset, dot]) => {
        const text = String(2 ** 53 + offset);
        return `${text.slice(0, dot)}.${text.slice(dot)}`;
      }),
      // around powers of ten: 0.000..01, 99.99..9, 10^k +- a little
      fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 1, max: 19 })).map(([zeros, nines]) => `0.${'0'.repeat(zeros)}${'9'.repeat(nines)}`),
      fc.tuple(fc.integer({ min: 1, max: 22 }), fc.integer({ min: 1, max: 9 })).map(([power, last]) => `1${'0'.repeat(power)}.${'0'.repeat(power)}${last}`),
      // exponents and plain short decimals
      fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()).map(([value, upper]) => (upper ? value.toExponential().toUpperCase() : value.toExponential())),
      fc.tuple(digits(1, 8), digits(0, 8)).map(([whole, fraction]) => `${whole}.${fraction}`),
    );
    const cell = fc.tuple(fc.constantFrom('', '-', '+'), decimal).map(([sign, text]) => (text.startsWith('-') ? text : sign + text));

    it('on the plain-line path and on the quoted (general) path', () => {
      fc.assert(
        fc.property(fc.array(cell, { minLength: 1, maxLength: 40 }), (cells) => {
          const plain = readRows(csvFile(`sensorId,a,b\n${cells.map((text) => `S,${text},1`).join('\n')}\n`));
          const quoted = readRows(csvFile(`sensorId,a,b\n${cells.map((text) => `"S",${text},"1"`).join('\n')}\n`));
          const expected = cells.map(Number);
          expect(plain.map((row) => row.readings[0])).toEqual(expected);
          expect(quoted.map((row) => row.readings[0])).toEqual(expected);
        }),
        { numRuns: 300 },
      );
    });
  });

  it('reuses no stale sensor id when rows alternate quoted and plain ids', async () => {
    const rows = readRows(csvFile('sensorId,a,b\nS1,1,1\n"S1",2,2\n,3,3\nS2,4,4\n"S2",5,5\nS2,6,6\n'));
    expect(rows.map((row) => row.sensorId)).toEqual(['S1', 'S1', '', 'S2', 'S2', 'S2']);
  });

  it('gives the same rows whatever the chunk size, records straddling every boundary', async () => {
    const content = 'x,sensorId,a,b\r\n"q""uo\r\nted",S1,1.25,-2\r\nplain,S2,,3e2\r\n\r\n"",S2,0.5,"7"\r\nlast,S3,9,10';
    const path = csvFile(content);
    const reference = readRows(path);
    expect(reference.map((row) => [row.sensorId, row.line])).toEqual([
      ['S1', 2],
      ['S2', 4],
      ['S2', 6],
      ['S3', 7],
    ]);
    for (let chunkBytes = 1; chunkBytes <= content.length + 1; chunkBytes++) {
      expect(readRows(path, ['a', 'b'], chunkBytes)).toEqual(reference);
    }
  });

  it('summarises rows per sensor, in order of first appearance, and reports progress up to the file size', async () => {
    const seen: number[] = [];
    const source = new CsvReadingsSource(csvFile('sensorId,a,b\nS2,1,2\nS1,3,\nS2,5,6\n'), ['a', 'b'], {
      chunkBytes: 8,
      onProgress: (done, total) => seen.push(done / total),
    });
    const summary = await source.summarize();
    expect(summary.rows).toBe(3);
    expect(summary.bytes).toBe(33);
    expect(summary.sensors.map(({ sensorId, firstLine, accumulators }) => [sensorId, firstLine, accumulators.map((a) => [a.n, a.mean])])).toEqual([
      ['S2', 2, [[2, 3], [2, 4]]],
      ['S1', 3, [[1, 3], [0, Number.NaN]]],
    ]);
    expect(seen.at(-1)).toBe(1);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });

  describe('refuses malformed files, naming file, line and column', () => {
    it.each([
      ['a missing column', 'sensorId,a,c\nS1,1,2\n', ':1: missing required column "b"'],
      ['missing columns', 'id,value\nS1,1\n', ':1: missing required columns "sensorId", "a", "b"'],
      ['a non-numeric cell', 'sensorId,a,b\nS1,1,2\nS1,abc,2\n', ':3: column "a": "abc" is not a finite number'],
      ['a number with junk', 'sensorId,a,b\nS1,1,2.5.1\n', ':2: column "b": "2.5.1" is not a finite number'],
      ['a hexadecimal number', 'sensorId,a,b\nS1,0x10,2\n', ':2: column "a": "0x10" is not a finite number'],
      ['an infinite number', 'sensorId,a,b\nS1,1e999,2\n', ':2: column "a": "1e999" is not a finite number'],
      ['pandas "inf"', 'sensorId,a,b\nS1,inf,2\n', ':2: column "a": "inf" is not a finite number'],
      ['too few fields', 'sensorId,a,b\nS1,1\n', ':2: expected 3 fields, found 2'],
      ['too many fields', 'sensorId,a,b\nS1,1,2,3\n', ':2: expected 3 fields, found 4'],
      ['an unclosed quote', 'sensorId,a,b\nS1,"1,2\n', ':2: a quoted field is never closed'],
      ['a quote inside a field', 'sensorId,a,b\nS1,1"5,2\nS2,"1",2\n', ':2: a quote inside an unquoted field'],
      ['text after a closing quote', 'sensorId,a,b\nS1,"1"5,2\n', ':2: unexpected text after a closing quote'],
      ['an empty file', '', ':1: the file is empty: expected a header line'],
      ['only blank lines', '\n\r\n\n', ':4: the file is empty: expected a header line'],
    ])('%s', async (_label, content, message) => {
      const path = csvFile(content);
      expect(await readError(path)).toBe(`${path}${message}`);
    });

    it('a missing file', async () => {
      const path = join(directory, 'does-not-exist.csv');
      expect(await readError(path)).toBe(`${path}: no such file`);
    });
  });

  it('reads the committed data/collects.csv: 33,901 rows of 10 sensors, 460 without any reading', async () => {
    const rows = readRows(join(__dirname, '../../data/collects.csv'), VIBRATION_METRICS);
    expect(rows).toHaveLength(33_901);
    expect(rows.filter((row) => row.readings.every((reading) => Number.isNaN(reading)))).toHaveLength(460);
    expect([...new Set(rows.map((row) => row.sensorId))]).toEqual(['IAJ9206', 'LZY4270', 'MUR8453', 'MXK6435', 'MYD8706', 'MYS2071', 'MZU6388', 'NAH4736', 'NAI1549', 'NEW4797']);
  });

  describe('agrees with csv-parse on generated RFC 4180 files (property test)', () => {
    const MISSING = new Set(['', 'NaN', 'NA', 'null', 'n/a']);
    const numberCell = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.double({ min: -1, max: 1, noNaN: true }).map((value) => value.toFixed(6)),
      fc.integer({ min: -1e6, max: 1e6 }).map(String),
      fc.double({ min: 1e-9, max: 1e9, noNaN: true }).map((value) => value.toExponential(4)),
      fc.constantFrom(...MISSING),
    );
    const textCell = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\n', '\r\n', 'é', ';') , maxLength: 8 });
    const sensorCell = fc.constantFrom('S1', 'S2', 'SENSOR.3', 'x-4');
    const table = fc
      .record({
        extraColumns: fc.integer({ min: 0, max: 3 }),
        order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
        rows: fc.integer({ min: 0, max: 12 }),
        newline: fc.constantFrom('\n', '\r\n'),
        finalNewline: fc.boolean(),
        chunkBytes: fc.integer({ min: 1, max: 64 }),
        seed: fc.array(fc.tuple(numberCell, numberCell, sensorCell, textCell, textCell, textCell, fc.boolean()), { minLength: 12, maxLength: 12 }),
      })
      .map(({ extraColumns, order, rows, newline, finalNewline, chunkBytes, seed }) => {
        const columns = ['sensorId', 'a', 'b', ...Array.from({ length: extraColumns }, (_, i) => `extra${i}`)];
        const shuffled = columns.map((name, i) => ({ name, key: order[i]! })).sort((x, y) => x.key - y.key).map(({ name }) => name);
        const records = seed.slice(0, rows).map(([a, b, sensorId, t0, t1, t2]): Record<string, string> => ({ sensorId, a, b, extra0: t0, extra1: t1, extra2: t2 }));
        const quoteAll = seed[0]?.[6] ?? false;
        const cell = (value: string) => (quoteAll || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
        const lines = [shuffled.map(cell).join(','), ...records.map((record) => shuffled.map((name) => cell(record[name]!)).join(','))];
        return { text: lines.join(newline) + (finalNewline ? newline : ''), chunkBytes };
      });

    it('same sensors and the same readings, row by row', async () => {
      await fc.assert(
        fc.asyncProperty(table, async ({ text, chunkBytes }) => {
          const records = parse<Record<string, string>>(text, { columns: true, skip_empty_lines: true });
          const expectedRows = records.map((record) => ({
            sensorId: record.sensorId!,
            readings: [record.a!, record.b!].map((cell) => (MISSING.has(cell.trim()) ? Number.NaN : Number(cell))),
          }));
          const rows = readRows(csvFile(text), ['a', 'b'], chunkBytes);
          expect(rows.map(({ sensorId, readings }) => ({ sensorId, readings }))).toEqual(expectedRows);
        }),
        { numRuns: 300 },
      );
    });
  });
});
