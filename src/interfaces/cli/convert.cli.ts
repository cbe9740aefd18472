// Rewrites a readings CSV as Parquet (zstd; readings as doubles, other columns as strings), streaming. See HELP.
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import { CsvToParquetConverter } from '../../infrastructure/parquet/csv-to-parquet.converter';
import { parseCliArguments } from './cli-arguments';
import { runCli } from './run-cli';
import { UsageError } from './usage.error';

const HELP = `Usage: npm run convert -- CSV PARQUET

Rewrites a readings CSV that the trainer accepts as a zstd-compressed Parquet file,
streaming (a file larger than memory is fine): the six vibration readings as doubles, read
as the trainer reads them (missing markers become nulls), every other column as a string.
The output appears only once it is complete.

Arguments:
  CSV            the readings CSV
  PARQUET        the Parquet file to write
Options:
  -h, --help     this text

Example:
  npm run convert -- data/collects.csv collects.parquet

Exit codes: 0 written; 1 nothing written (bad arguments, or a missing column or a
non-numeric reading, with one line on stderr naming file and column).
`;

runCli('convert', async () => {
  const parsed = parseCliArguments({ help: HELP, options: {}, maxPositionals: 2 });
  if (!parsed) return;
  if (parsed.positionals.length !== 2) throw new UsageError('expected a CSV and a Parquet path (run with --help for usage)');
  const [csvPath, parquetPath] = parsed.positionals as [string, string];
  const startedAt = performance.now();
  const { rows, csvBytes, parquetBytes } = await new CsvToParquetConverter(VIBRATION_METRICS).convert(csvPath, parquetPath);
  const seconds = (performance.now() - startedAt) / 1000;
  console.log(
    `converted ${rows.toLocaleString('en-US')} rows of ${csvPath} (${(csvBytes / 1e6).toFixed(1)} MB) ` +
      `to ${parquetPath} (${(parquetBytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s`,
  );
});
