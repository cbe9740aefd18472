// Learns every sensor and vibration column of a readings file and stores the weights.
// Usage: npm run train -- [path] [--threads N] [--format csv|parquet]
//   path       default data/collects.csv; the weights go to DATABASE_URL's database, or else DB_PATH's
//   --threads  how many threads read a large file at once (default: the CPUs available)
//   --format   csv or parquet (default: from the extension, .parquet or .pq; else csv)
import 'reflect-metadata';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TrainSensorsUseCase } from '../../application/train-sensors.use-case';
import { loadConfig } from '../../config';
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import type { SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { CsvReadingsSource } from '../../infrastructure/csv/csv-readings.source';
import type { ParquetReadingsOptions } from '../../infrastructure/parquet/parquet-readings.source';
import { describeWeightsStorage, openWeightsStorage } from '../../weights-storage';
import { runCli, UsageError } from './run-cli';
import { TerminalProgressBar } from './terminal-progress-bar';

// Below this, a run is over before a bar could say anything useful.
const PROGRESS_BAR_MIN_BYTES = 32 * 1024 * 1024;

runCli('train', async () => {
  const { positionals, values: options } = parseArgs({ allowPositionals: true, options: { threads: { type: 'string' }, format: { type: 'string' } } });
  const path = positionals[0] ?? 'data/collects.csv';
  const threads = options.threads === undefined ? undefined : Number(options.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new UsageError('--threads must be a whole number >= 1');
  const format = options.format ?? (/\.(parquet|pq)$/i.test(path) ? 'parquet' : 'csv');
  if (format !== 'csv' && format !== 'parquet') throw new UsageError('--format must be csv or parquet');
  const config = loadConfig();
  const startedAt = performance.now();

  const progress = process.stderr.isTTY && fileSize(path) >= PROGRESS_BAR_MIN_BYTES ? new TerminalProgressBar(process.stderr) : undefined;
  const onProgress = progress && ((done: number, total: number) => progress.update(done, total));
  const source: SensorReadingsSource =
    format === 'parquet'
      ? await parquetSource(path, { ...(threads !== undefined && { threads }), ...(onProgress && { onProgress }) })
      : new CsvReadingsSource(path, VIBRATION_METRICS, { ...(threads !== undefined && { threads }), ...(onProgress && { onProgress }) });
  const storage = await openWeightsStorage(config);
  let summary;
  try {
    summary = await new TrainSensorsUseCase(storage.repository).execute(source);
  } finally {
    progress?.finish(); // clear the bar before anything else is printed
    await storage.close();
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const count = (value: number) => Math.round(value).toLocaleString('en-US');
  console.log(
    `trained ${summary.sensors} sensors x ${summary.metrics} columns from ${count(summary.rows)} rows of ${path} ` +
      `(${(summary.bytes / 1e6).toFixed(1)} MB) into ${describeWeightsStorage(config)} in ${seconds.toFixed(2)} s: ` +
      `${count(summary.rows / seconds)} rows/s, ${(summary.bytes / 1e6 / seconds).toFixed(1)} MB/s`,
  );
});

/** Loaded only for Parquet: DuckDB's native library takes ~100 ms to load, more than a CSV run on the case's file. */
async function parquetSource(path: string, options: ParquetReadingsOptions): Promise<SensorReadingsSource> {
  const { ParquetReadingsSource } = await import('../../infrastructure/parquet/parquet-readings.source.js');
  return new ParquetReadingsSource(path, VIBRATION_METRICS, options);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // the trainer reports the missing file itself
  }
}
