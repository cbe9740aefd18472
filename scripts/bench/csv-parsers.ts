// How fast can a general CSV library feed the trainer? Each contender streams the file and
// accumulates what the trainer needs (rows, and per sensor the count and sum of the six
// vibration columns), in this process, alternating, median of the runs. Every result is
// checked against the trainer's own scanner.
import { parse as csvParse } from 'csv-parse';
import { closeSync, createReadStream, fstatSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseScriptArguments, refuseArguments, wholeNumberOption } from '../script-arguments';
import Papa from 'papaparse';
import { inferSchema, initParser } from 'udsv';
import { VIBRATION_METRICS } from '../../src/domain/vibration-metrics';
import { CsvRangeScanner } from '../../src/infrastructure/csv/csv-range.scanner';
import { median } from './median';

type Totals = Map<string, number[]>; // sensor -> [count, sum of each column]

class Accumulator {
  readonly totals: Totals = new Map();
  rows = 0;

  constructor(private readonly sensorIndex: number, private readonly metricIndexes: number[]) {}

  static forHeader(header: readonly string[]): Accumulator {
    return new Accumulator(header.indexOf('sensorId'), VIBRATION_METRICS.map((metric) => header.indexOf(metric)));
  }

  addCells(cells: readonly string[]): void {
    this.add(cells[this.sensorIndex]!, this.metricIndexes.map((index) => (cells[index] === '' ? Number.NaN : Number(cells[index]))));
  }

  add(sensorId: string, readings: ArrayLike<number>): void {
    let totals = this.totals.get(sensorId);
    if (!totals) this.totals.set(sensorId, (totals = new Array<number>(VIBRATION_METRICS.length + 1).fill(0)));
    totals[0]! += 1;
    for (let metric = 0; metric < VIBRATION_METRICS.length; metric++) {
      const reading = readings[metric]!;
      if (reading === reading) totals[metric + 1]! += reading;
    }
    this.rows++;
  }
}

const contenders: Record<string, (path: string) => Promise<Accumulator>> = {
  'trainer scanner (one thread)': async (path) => {
    const fd = openSync(path, 'r');
    try {
      const scanner = new CsvRangeScanner(path, fd, VIBRATION_METRICS, 'sensorId', 1 << 20);
      const header = scanner.readHeader();
      const accumulator = new Accumulator(-1, []);
      scanner.scan(header, header.dataStart, fstatSync(fd).size, header.dataLine, (sensorId, readings) => accumulator.add(sensorId, readings));
      return accumulator;
    } finally {
      closeSync(fd);
    }
  },
  'csv-parse (stream)': async (path) => {
    let accumulator: Accumulator | undefined;
    for await (const cells of createReadStream(path).pipe(csvParse()) as AsyncIterable<string[]>) {
      if (accumulator) accumulator.addCells(cells);
      else accumulator = Accumulator.forHeader(cells);
    }
    return accumulator!;
  },
  'papaparse (stream)': (path) =>
    new Promise((resolve, reject) => {
      let accumulator: Accumulator | undefined;
      Papa.parse<string[]>(createReadStream(path), {
        step: ({ data }) => {
          if (accumulator) accumulator.addCells(data);
          else accumulator = Accumulator.forHeader(data);
        },
        complete: () => resolve(accumulator!),
        error: reject,
        skipEmptyLines: true,
      });
    }),
  'udsv (incremental)': async (path) => {
    let parser: ReturnType<typeof initParser> | undefined;
    let accumulator: Accumulator | undefined;
    for await (const chunk of createReadStream(path, { encoding: 'utf8' }) as AsyncIterable<string>) {
      if (!parser) {
        const schema = inferSchema(chunk, { trim: false });
        parser = initParser(schema);
        accumulator = Accumulator.forHeader(schema.cols.map((column) => column.name));
      }
      parser.chunk<string[]>(chunk, parser.stringArrs, (cells) => accumulator!.addCells(cells));
    }
    parser?.end();
    return accumulator!;
  },
};

async function main(): Promise<void> {
  const USAGE = `Usage: npm run bench:csv -- [FILE] [--runs N] [--smoke]

General CSV libraries (csv-parse, papaparse, udsv) against the trainer's scanner, reading
FILE (default data/collects.csv) in one process, in alternating runs.

Options:
  --runs N    runs; medians are reported (default 3)
  --smoke     one run, to check that it still works
  -h, --help  this text`;
  const { values: options, positionals } = parseScriptArguments(USAGE, {
    allowPositionals: true,
    options: { runs: { type: 'string', default: '3' }, smoke: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) refuseArguments(USAGE, `one FILE at most (got ${positionals.length})`);
  const path = positionals[0] ?? join(__dirname, '../../../data/collects.csv');
  const file = statSync(path, { throwIfNoEntry: false });
  if (!file?.isFile()) return refuseArguments(USAGE, `${path}: no such file`);
  const megabytes = file.size / 1e6;
  const runs = options.smoke ? 1 : wholeNumberOption(USAGE, 'runs', options.runs);
  const seconds = new Map<string, number[]>(Object.keys(contenders).map((name) => [name, []]));
  const results = new Map<string, Accumulator>();

  for (let run = 0; run < runs; run++) {
    for (const [name, read] of Object.entries(contenders)) {
      const startedAt = process.hrtime.bigint();
      const result = await read(path);
      seconds.get(name)!.push(Number(process.hrtime.bigint() - startedAt) / 1e9);
      results.set(name, result);
    }
  }

  const reference = results.get('trainer scanner (one thread)')!;
  console.log(`bench:csv  ${path} (${megabytes.toFixed(1)} MB), median of ${runs} run(s), in one process`);
  console.log(`${'reader'.padEnd(30)} ${'seconds'.padStart(8)} ${'MB/s'.padStart(8)}  same result as the trainer's scanner`);
  for (const [name, list] of seconds) {
    const middle = median(list);
    console.log(`${name.padEnd(30)} ${middle.toFixed(3).padStart(8)} ${(megabytes / middle).toFixed(1).padStart(8)}  ${agrees(results.get(name)!, reference) ? 'yes' : 'NO'}`);
  }
}

function agrees(result: Accumulator, reference: Accumulator): boolean {
  if (result.rows !== reference.rows || result.totals.size !== reference.totals.size) return false;
  for (const [sensor, totals] of reference.totals) {
    const theirs = result.totals.get(sensor);
    if (!theirs || totals.some((total, index) => Math.abs(total - theirs[index]!) > 1e-9 * Math.max(1, Math.abs(total)))) return false;
  }
  return true;
}

void main();
