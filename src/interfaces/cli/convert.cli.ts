// Rewrites a readings CSV as Parquet (zstd; readings as doubles, other columns as strings), streaming. See HELP.
import { accessSync, constants, lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import { CsvToParquetConverter } from '../../infrastructure/parquet/csv-to-parquet.converter';
import { filePathArgument, parseCliArguments } from './cli-arguments';
import { runCli } from './run-cli';
import { UsageError } from './usage.error';

const HELP = `Usage: npm run convert -- CSV PARQUET [--force]
       sensor-alerts convert CSV PARQUET [--force]

Rewrites a readings CSV that the trainer accepts as a zstd-compressed Parquet file,
streaming (a file larger than memory is fine): the six vibration readings as doubles, read
as the trainer reads them (missing markers become nulls), every other column as a string.
The output appears only once it is complete, and replaces an existing file of that name.
Parquet is ~3.5x smaller, and faster to train on from tens of MB up (1.5x at 500 MB of
CSV); below that, loading DuckDB costs more than it saves.

Arguments:
  CSV            the readings CSV
  PARQUET        the Parquet file to write, ending in .parquet or .pq; never the CSV itself
Options:
  --force        write PARQUET whatever its name ends in
  -h, --help     this text

Example:
  npm run convert -- data/collects.csv collects.parquet

Exit codes: 0 written; 1 nothing written (a file the trainer would refuse, with the trainer's
one line on stderr naming file, line and column); 2 bad arguments, nothing written.
`;

runCli('convert', async () => {
  const parsed = parseCliArguments({ help: HELP, options: { force: { type: 'boolean' } }, maxPositionals: 2 });
  if (!parsed) return;
  if (parsed.positionals.length !== 2) throw new UsageError('expected a CSV and a Parquet path (run with --help for usage)');
  const [csvPath, parquetPath] = (parsed.positionals as [string, string]).map(filePathArgument) as [string, string];
  const target = checkOutput(csvPath, parquetPath, parsed.values.force === true);
  const startedAt = performance.now();
  const { rows, csvBytes, parquetBytes } = await new CsvToParquetConverter(VIBRATION_METRICS).convert(csvPath, target);
  const seconds = (performance.now() - startedAt) / 1000;
  console.log(
    `converted ${rows.toLocaleString('en-US')} rows of ${csvPath} (${(csvBytes / 1e6).toFixed(1)} MB) ` +
      `to ${parquetPath} (${(parquetBytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s`,
  );
});

/**
 * Refuses, before anything is read, an output that would destroy the input or cannot be
 * written: the same file (by path or, through links, by inode), a name that does not say
 * Parquet (a slip such as `convert a.csv b.csv` would replace b.csv; --force allows it), a
 * folder, a device, FIFO or socket, or a path whose folder is missing or not writable.
 * Answers the file to write: the path's target when it is a symbolic link.
 */
function checkOutput(csvPath: string, parquetPath: string, force: boolean): string {
  const target = linkTarget(parquetPath);
  const input = statOrNothing(csvPath);
  const output = statOrNothing(target);
  if (resolve(csvPath) === resolve(target) || (input && output && input.dev === output.dev && input.ino === output.ino)) {
    throw new UsageError(`${parquetPath} is the input file itself: write the Parquet file elsewhere`);
  }
  if (output?.isDirectory()) throw new UsageError(`${parquetPath} is a folder: name the Parquet file to write, e.g. ${join(parquetPath, 'readings.parquet')}`);
  // The new file is renamed over the name: a device there (/dev/null, run as root) would be
  // replaced by a regular file, for every program on the machine. Even with --force.
  if (output && !output.isFile()) throw new UsageError(`${parquetPath} is not a regular file (a FIFO, device or socket): name a file to write`);
  // The name of the file replaced, which for a link is its target's.
  if (!force && !/\.(parquet|pq)$/i.test(target)) {
    const named = target === parquetPath ? parquetPath : `${parquetPath} is a link to ${target}, which`;
    throw new UsageError(`${named} does not end in .parquet or .pq: is it the file you meant to replace? (--force writes it anyway)`);
  }
  const folder = dirname(resolve(target));
  const shown = target === parquetPath ? dirname(parquetPath) : folder;
  if (!statOrNothing(folder)?.isDirectory()) throw new UsageError(`cannot write ${parquetPath}: its folder ${shown} does not exist`);
  // The file is written beside its final name, then renamed: the folder must take new files.
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(`cannot write ${parquetPath}: this process (uid ${process.getuid?.() ?? '?'}) may not write its folder ${shown}`);
  }
  return target;
}

/**
 * The file a path names, through any symbolic links (even one whose target does not exist
 * yet), as `cp` and a shell's `>` write: the new file is renamed over that target, so a link
 * stays a link instead of being replaced by the file.
 */
function linkTarget(path: string): string {
  let target = path;
  // Linux's own limit (MAXSYMLINKS): a loop of links ends here.
  for (let hops = 0; hops < 40; hops++) {
    if (!lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) return target;
    target = resolve(dirname(target), readlinkSync(target));
  }
  throw new UsageError(`${path}: too many levels of symbolic links`);
}

function statOrNothing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined; // missing, or under a file: the converter or the checks above say so
  }
}
