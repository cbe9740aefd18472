// Rewrites a readings CSV as Parquet (zstd; readings as doubles, other columns as strings), streaming.
// Usage: npm run convert -- readings.csv readings.parquet
import { parseArgs } from 'node:util';
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import { CsvToParquetConverter } from '../../infrastructure/parquet/csv-to-parquet.converter';
import { runCli, UsageError } from './run-cli';

runCli('convert', async () => {
  const { positionals } = parseArgs({ allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new UsageError('usage: npm run convert -- readings.csv readings.parquet');
  const [csvPath, parquetPath] = positionals as [string, string];
  const startedAt = performance.now();
  const { rows, csvBytes, parquetBytes } = await new CsvToParquetConverter(VIBRATION_METRICS).convert(csvPath, parquetPath);
  const seconds = (performance.now() - startedAt) / 1000;
  console.log(
    `converted ${rows.toLocaleString('en-US')} rows of ${csvPath} (${(csvBytes / 1e6).toFixed(1)} MB) ` +
      `to ${parquetPath} (${(parquetBytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s`,
  );
});
