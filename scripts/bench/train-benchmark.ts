// Measures the batch trainer against the case's draft, side by side in one run.
//
// Contenders: our trainer on the CSV (the reference of every ratio) and on the same rows as
// Parquet, DuckDB (read_csv / read_parquet + GROUP BY with avg and stddev_samp, 2 threads)
// on both, the draft (TypeScript port; Python and pandas when python3 has pandas), and two
// floors: reading the CSV's lines, and DuckDB's Parquet rows handed to Node unsummed.
//
// --baseline DIR adds the trainer of another build (a checkout of an earlier commit, built
// with `npm run build`), measured in the same alternating rounds: an A/B of a change. --only keeps the contenders whose names contain one of the words.
//
// Every contender is a whole process, timed from spawn to exit, with peak RSS from
// /usr/bin/time (Debian package `time`). Runs alternate between contenders, so a noisy
// neighbour hurts all of them alike; the figures are medians. Results are cross-checked:
// every contender must produce the same 0.09 alert table and the same statistics.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseScriptArguments, refuseArguments, wholeNumberListOption, wholeNumberOption } from '../script-arguments';
import { writeScaledCollects } from '../scaled-collects';
import { median } from './median';

interface Contender {
  readonly name: string;
  /** Which copy of the data it reads: the CSV, or the same rows converted to Parquet. */
  readonly input?: 'parquet';
  readonly command: (file: string, workDir: string) => string[];
  /** The JSON `{weights, in_alert}` it printed, or, for the trainer, read from its database. */
  readonly result?: (stdout: string, workDir: string) => DraftResult;
}

interface DraftResult {
  weights: Record<string, Record<string, { mean: number; std: number }>>;
  in_alert: Record<string, Record<string, boolean>>;
}

interface Sample {
  readonly seconds: number;
  readonly peakRssMb: number | undefined;
}

const ALERT_VALUE = 0.09;
const ROOT = join(__dirname, '../../..');
const TIME = '/usr/bin/time';

const USAGE = `Usage: npm run bench:train -- [--scales N,N] [--runs N] [--only NAME,NAME] [--baseline DIR] [--smoke]

The trainer on the CSV and on the same rows as Parquet against DuckDB, the draft and floors,
as whole processes on the committed file and on copies of its rows (written once into
data/bench/), in alternating rounds: medians, every ratio and the speed targets.

Options:
  --scales N,N      copies of the real rows to measure (default 1,10,100)
  --runs N          rounds per scale (default 5, or 3 from 100 copies)
  --only NAME,NAME  keep the contenders whose name holds one of these (e.g. trainer,DuckDB)
  --baseline DIR    also time the trainer built in another checkout (its dist/)
  --smoke           one round on the committed file, to check that it still works
  -h, --help        this text`;
const { values: options } = parseScriptArguments(USAGE, {
  options: {
    scales: { type: 'string', default: '1,10,100' },
    runs: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    only: { type: 'string' },
  },
});
const scales = options.smoke ? [1] : wholeNumberListOption(USAGE, 'scales', options.scales);
const runs = options.runs === undefined ? undefined : wholeNumberOption(USAGE, 'runs', options.runs);
if (options.baseline !== undefined && !existsSync(join(options.baseline, 'dist/bin/train.js'))) {
  refuseArguments(USAGE, `--baseline ${options.baseline}: no dist/bin/train.js there (run npm run build in that checkout)`);
}
/** A smoke run's scratch folder (see parquetFile), made on first use. */
let smokeFolder: string | undefined;
const runsFor = (scale: number) => (options.smoke ? 1 : (runs ?? (scale >= 100 ? 3 : 5)));

// This machine sets NODE_EXTRA_CA_CERTS, which makes every Node start parse a CA bundle
// (~80 ms here). None of the contenders does TLS, so all of them run without it.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const python = findPythonWithPandas();
const node = process.execPath;
const allContenders: Contender[] = [
  {
    name: 'trainer (npm run train)',
    command: (file) => [node, join(ROOT, 'dist/bin/train.js'), file],
    result: (_stdout, workDir) => readTrainedDatabase(join(workDir, 'sensors.db')),
  },
  {
    name: 'trainer on Parquet',
    input: 'parquet',
    command: (file) => [node, join(ROOT, 'dist/bin/train.js'), file],
    result: (_stdout, workDir) => readTrainedDatabase(join(workDir, 'sensors.db')),
  },
  {
    name: 'DuckDB on the CSV',
    command: (file) => [node, join(ROOT, 'dist/scripts/bench/duckdb-group.js'), file, String(ALERT_VALUE)],
    result: (stdout) => JSON.parse(stdout) as DraftResult,
  },
  {
    name: 'DuckDB on Parquet',
    input: 'parquet',
    command: (file) => [node, join(ROOT, 'dist/scripts/bench/duckdb-group.js'), file, String(ALERT_VALUE)],
    result: (stdout) => JSON.parse(stdout) as DraftResult,
  },
  ...(options.baseline
    ? [
        {
          name: 'trainer, baseline build',
          command: (file: string) => [node, join(options.baseline!, 'dist/bin/train.js'), file],
          result: (_stdout: string, workDir: string) => readTrainedDatabase(join(workDir, 'sensors.db')),
        },
      ]
    : []),
  {
    name: 'draft, TypeScript port',
    command: (file) => [node, join(ROOT, 'dist/scripts/bench/draft-port.js'), file, String(ALERT_VALUE)],
    result: (stdout) => JSON.parse(stdout) as DraftResult,
  },
  ...(python
    ? [
        {
          name: 'draft, Python (pandas + loops)',
          command: (file: string) => [python, join(ROOT, 'scripts/bench/draft.py'), file, String(ALERT_VALUE)],
          result: (stdout: string) => JSON.parse(stdout) as DraftResult,
        },
        {
          name: 'pandas groupby',
          command: (file: string) => [python, join(ROOT, 'scripts/bench/draft_pandas.py'), file, String(ALERT_VALUE)],
          result: (stdout: string) => JSON.parse(stdout) as DraftResult,
        },
      ]
    : []),
  { name: 'floor: read + count lines', command: (file) => [node, join(ROOT, 'dist/scripts/bench/count-lines.js'), file] },
  {
    name: 'floor: DuckDB chunks into Node',
    input: 'parquet',
    command: (file) => [node, join(ROOT, 'dist/scripts/bench/duckdb-chunks-floor.js'), file],
  },
];

const only = options.only?.split(',').filter(Boolean);
const unknown = only?.filter((word) => !allContenders.some((contender) => contender.name.includes(word)));
if (unknown?.length) refuseArguments(USAGE, `--only ${unknown.join(',')}: no contender's name holds that (they are: ${allContenders.map((contender) => contender.name).join('; ')})`);
// The trainer stays first: the ratios are taken against it.
const contenders = allContenders.filter((contender, index) => index === 0 || !only || only.some((word) => contender.name.includes(word)));

main();

function main(): void {
  console.log(`bench:train  node ${process.version}, ${python ? `python with pandas: ${python}` : 'no python3 with pandas: Python contenders skipped'}`);
  console.log(`peak RSS from ${existsSync(TIME) ? TIME : 'nowhere (install the Debian package `time`)'}; NODE_EXTRA_CA_CERTS unset for all contenders (a CA bundle would add ~80 ms to every start)\n`);
  const trainerRowsPerSecond = new Map<number, number>();

  for (const scale of scales) {
    const file = collectsFile(scale);
    const parquet = contenders.some((contender) => contender.input === 'parquet') ? parquetFile(file) : undefined;
    const inputOf = (contender: Contender) => (contender.input === 'parquet' ? parquet! : file);
    const bytes = statSync(file).size;
    const rows = countRows(file);
    const runs = runsFor(scale);
    const samples = contenders.map((): Sample[] => []);
    let reference: DraftResult | undefined;
    const disagreements: string[] = [];

    for (let run = 0; run < runs; run++) {
      contenders.forEach((contender, index) => {
        const workDir = mkdtempSync(join(tmpdir(), 'bench-train-'));
        try {
          const { sample, stdout } = measure(contender.command(inputOf(contender), workDir), workDir);
          samples[index]!.push(sample);
          if (run === 0 && contender.result) {
            const result = contender.result(stdout, workDir);
            if (!reference) reference = result;
            else disagreements.push(...compare(contender.name, reference, result));
          }
        } finally {
          rmSync(workDir, { recursive: true, force: true });
        }
      });
    }

    console.log(`== ${file}: ${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB, scale ${scale}, median of ${runs} run(s)`);
    if (parquet) console.log(`   ${parquet}: the same rows as zstd Parquet (npm run convert), ${(statSync(parquet).size / 1e6).toFixed(1)} MB`);
    console.log(`${'contender'.padEnd(32)} ${'wall s'.padStart(8)} ${'rows/s'.padStart(12)} ${'MB/s'.padStart(8)} ${'peak RSS MB'.padStart(12)} ${'x trainer'.padStart(10)}`);
    const medians = samples.map((list) => median(list.map((sample) => sample.seconds)));
    const trainerSeconds = medians[0]!;
    contenders.forEach((contender, index) => {
      const seconds = medians[index]!;
      const rss = median(samples[index]!.map((sample) => sample.peakRssMb ?? Number.NaN));
      console.log(
        `${contender.name.padEnd(32)} ${seconds.toFixed(3).padStart(8)} ${Math.round(rows / seconds).toLocaleString('en-US').padStart(12)} ` +
          `${(bytes / 1e6 / seconds).toFixed(1).padStart(8)} ${(Number.isNaN(rss) ? 'n/a' : rss.toFixed(0)).padStart(12)} ` +
          `${(seconds / trainerSeconds).toFixed(2).padStart(10)}`,
      );
    });
    trainerRowsPerSecond.set(scale, rows / trainerSeconds);
    printRatios(contenders, medians, samples);
    console.log(`"x trainer" is each contender's median wall time over the trainer's: above 1, the trainer is that many times faster.`);
    console.log(
      disagreements.length === 0
        ? `results: every contender gives the same ${ALERT_VALUE} alert table, and mean/std agree to 1e-12 relative\n`
        : `results DISAGREE:\n  ${disagreements.join('\n  ')}\n`,
    );
    if (disagreements.length > 0) process.exitCode = 1;
  }

  const at10 = trainerRowsPerSecond.get(10);
  const at100 = trainerRowsPerSecond.get(100);
  if (at10 && at100) console.log(`trainer rows/s at 100x over rows/s at 10x: ${(at100 / at10).toFixed(2)}`);
}

/** Every pair's ratio of median wall times (row over column: above 1, the column's contender is faster), then the issue's targets. */
function printRatios(list: readonly Contender[], medians: readonly number[], samples: readonly Sample[][]): void {
  const width = 12;
  const short = list.map((contender) => contender.name.slice(0, width - 1));
  console.log(`ratios of median wall time, row / column:`);
  console.log(`${''.padEnd(32)} ${short.map((name) => name.padStart(width)).join('')}`);
  list.forEach((contender, row) => {
    console.log(`${contender.name.padEnd(32)} ${list.map((_, column) => (medians[row]! / medians[column]!).toFixed(2).padStart(width)).join('')}`);
  });
  const index = (name: string) => list.findIndex((contender) => contender.name === name);
  const trainer = 0;
  const duckCsv = index('DuckDB on the CSV');
  const trainerParquet = index('trainer on Parquet');
  const duckParquet = index('DuckDB on Parquet');
  const rss = median(samples[trainer]!.map((sample) => sample.peakRssMb ?? Number.NaN));
  // Each target twice: the ratio of the medians, and the median of the ratios within each
  // round (the contenders of one round ran back to back: on a busy machine, a load that
  // comes and goes between rounds cancels out of a round's ratio).
  const perRound = (top: number, bottom: number) => median(samples[top]!.map((sample, round) => sample.seconds / samples[bottom]![round]!.seconds));
  const target = (label: string, top: number, bottom: number, pass: (ratio: number) => boolean) => {
    const ofMedians = medians[top]! / medians[bottom]!;
    const ofRounds = perRound(top, bottom);
    console.log(`  ${label}: ${ofMedians.toFixed(2)} ${pass(ofMedians) ? 'MET' : 'NOT MET'}; median of per-round ratios ${ofRounds.toFixed(2)} ${pass(ofRounds) ? 'MET' : 'NOT MET'}`);
  };
  console.log('targets (ratio of median wall times; median of the ratios in each round):');
  if (duckCsv >= 0) target('DuckDB on the CSV / trainer on the CSV (>= 1.5)', duckCsv, trainer, (ratio) => ratio >= 1.5);
  if (!Number.isNaN(rss)) console.log(`  trainer on the CSV, peak RSS MB (< 150): ${rss.toFixed(2)} ${rss < 150 ? 'MET' : 'NOT MET'}`);
  if (trainerParquet >= 0) target('trainer on the CSV / trainer on Parquet (>= 2)', trainer, trainerParquet, (ratio) => ratio >= 2);
  if (trainerParquet >= 0 && duckParquet >= 0) target('trainer on Parquet / DuckDB on Parquet (<= 1.3)', trainerParquet, duckParquet, (ratio) => ratio <= 1.3);
  // What those two Parquet targets are up against: the rows alone, handed from DuckDB to a Node thread.
  const floor = index('floor: DuckDB chunks into Node');
  if (floor >= 0 && duckParquet >= 0) {
    console.log(`  (DuckDB chunks into Node, nothing summed / DuckDB on Parquet: ${(medians[floor]! / medians[duckParquet]!).toFixed(2)}; trainer on Parquet / that floor: ${(medians[trainerParquet]! / medians[floor]!).toFixed(2)})`);
  }
  // The 2x target as a time, next to the engine's own: below 1, it asks our Parquet path to beat DuckDB's whole query.
  if (trainerParquet >= 0 && duckParquet >= 0) {
    console.log(`  (half the trainer's CSV time / DuckDB on Parquet: ${(medians[trainer]! / 2 / medians[duckParquet]!).toFixed(2)}, what the 2x target asks of the trainer on Parquet against DuckDB's whole query)`);
  }
}

function measure(command: string[], workDir: string): { sample: Sample; stdout: string } {
  const timeFile = join(workDir, 'time.txt');
  const useTime = existsSync(TIME);
  const argv = useTime ? [TIME, '-f', '%M', '-o', timeFile, ...command] : command;
  const startedAt = process.hrtime.bigint();
  const child = spawnSync(argv[0]!, argv.slice(1), {
    env: { ...env, DB_PATH: join(workDir, 'sensors.db') },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  if (child.status !== 0) throw new Error(`${command.join(' ')} failed (${child.status ?? child.signal}): ${child.stderr}`);
  const peakKb = useTime ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) : Number.NaN;
  return { sample: { seconds, peakRssMb: Number.isNaN(peakKb) ? undefined : peakKb / 1024 }, stdout: child.stdout };
}

function readTrainedDatabase(path: string): DraftResult {
  const db = new Database(path, { readonly: true });
  try {
    const result: DraftResult = { weights: {}, in_alert: {} };
    const rows = db.prepare('SELECT sensor_id, metric, mean, std FROM weights').all() as Array<{ sensor_id: string; metric: string; mean: number; std: number }>;
    for (const { sensor_id, metric, mean, std } of rows) {
      (result.weights[sensor_id] ??= {})[metric] = { mean, std };
      (result.in_alert[sensor_id] ??= {})[metric] = ALERT_VALUE >= mean + 2 * std;
    }
    return result;
  } finally {
    db.close();
  }
}

function compare(name: string, reference: DraftResult, other: DraftResult): string[] {
  const problems: string[] = [];
  if (JSON.stringify(sortDeep(reference.in_alert)) !== JSON.stringify(sortDeep(other.in_alert))) problems.push(`${name}: another alert table`);
  for (const [sensor, models] of Object.entries(reference.weights)) {
    for (const [metric, { mean, std }] of Object.entries(models)) {
      const theirs = other.weights[sensor]?.[metric];
      if (!theirs || relative(theirs.mean, mean) > 1e-12 || relative(theirs.std, std) > 1e-12) {
        problems.push(`${name}: ${sensor} ${metric} ${JSON.stringify(theirs)} vs ${JSON.stringify({ mean, std })}`);
      }
    }
  }
  return problems;
}

function collectsFile(scale: number): string {
  if (scale === 1) return join(ROOT, 'data/collects.csv');
  const directory = join(ROOT, 'data/bench');
  const file = join(directory, `collects-x${scale}.csv`);
  if (!existsSync(file) || !startsLikeCommitted(file)) {
    mkdirSync(directory, { recursive: true });
    console.log(`generating ${file} (kept for later runs)...`);
    writeScaledCollects({ source: join(ROOT, 'data/collects.csv'), out: `${file}.partial`, scale });
    renameSync(`${file}.partial`, file); // a killed run leaves no half file behind under the real name
  }
  return file;
}

/**
 * A scaled file kept from an earlier run is reused only if its first row is the committed
 * file's (but for _id and createdAt): files made from the old seeded stand-in are remade.
 */
function startsLikeCommitted(file: string): boolean {
  const firstRow = (path: string) => {
    const fd = openSync(path, 'r');
    const head = Buffer.alloc(4096);
    const bytes = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    return head.subarray(0, bytes).toString('utf8').split('\n').slice(0, 2).map((line) => line.split(',').slice(2).join(',')).join('\n');
  };
  return firstRow(file) === firstRow(join(ROOT, 'data/collects.csv'));
}

/**
 * The same rows as zstd Parquet, written by `npm run convert` beside the CSV (or under
 * data/bench for the committed file), again when the CSV is newer. A smoke run (the test
 * suite's) writes it into a temporary folder instead, so that tests leave the tree as it was.
 */
function parquetFile(csv: string): string {
  const file = csv.startsWith(join(ROOT, 'data/bench'))
    ? csv.replace(/\.csv$/, '.parquet')
    : join(options.smoke ? smokeDirectory() : join(ROOT, 'data/bench'), 'collects-x1.parquet');
  if (!existsSync(file) || statSync(file).mtimeMs < statSync(csv).mtimeMs) {
    mkdirSync(dirname(file), { recursive: true });
    console.log(`converting ${csv} to ${file}${options.smoke ? '' : ' (kept for later runs)'}...`);
    const child = spawnSync(node, [join(ROOT, 'dist/bin/convert.js'), csv, file], { env, encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`convert failed: ${child.stderr}`);
  }
  return file;
}

function smokeDirectory(): string {
  if (!smokeFolder) {
    const folder = (smokeFolder = mkdtempSync(join(tmpdir(), 'bench-train-smoke-')));
    process.on('exit', () => rmSync(folder, { recursive: true, force: true }));
  }
  return smokeFolder;
}

function countRows(file: string): number {
  const { stdout } = spawnSync(node, [join(ROOT, 'dist/scripts/bench/count-lines.js'), file], { encoding: 'utf8' });
  const lines = (JSON.parse(stdout) as { lines: number }).lines;
  // Newlines minus the header's, plus one when the last line has none (as the case's file).
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  closeSync(fd);
  return lines - 1 + (last[0] === 0x0a ? 0 : 1);
}

function findPythonWithPandas(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((candidate) => spawnSync(candidate, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0);
}


function relative(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

function sortDeep(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([key, inner]) => [key, sortDeep(inner)]));
}
