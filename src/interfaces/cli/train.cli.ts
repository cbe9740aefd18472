// Learns every sensor and vibration column of a readings file and stores the weights.
import 'reflect-metadata';
import { existsSync, statSync } from 'node:fs';
import { TrainSensorsUseCase } from '../../application/train-sensors.use-case';
import { loadConfig } from '../../config';
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import type { SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { CsvReadingsSource } from '../../infrastructure/csv/csv-readings.source';
import type { ParquetReadingsOptions } from '../../infrastructure/parquet/parquet-readings.source';
import type { WeightsRepository } from '../../application/ports/weights.repository';
import { describeWeightsStorage, openWeightsStorage, type WeightsStorage } from '../../weights-storage';
import { WHOLE_NUMBER_PATTERN } from '../decimal-number';
import { filePathArgument, parseCliArguments } from './cli-arguments';
import { runCli } from './run-cli';
import { UsageError } from './usage.error';
import { TerminalProgressBar } from './terminal-progress-bar';

// Below this, a run is over before a bar could say anything useful.
const PROGRESS_BAR_MIN_BYTES = 32 * 1024 * 1024;

const HELP = `Usage: sensor-alerts train [FILE] [--threads N] [--format csv|parquet] [--merge]
       npm run train -- [FILE] [--threads N] [--format csv|parquet] [--merge]

Learns, for every sensor and vibration column of a readings file (CSV or Parquet), the mean
and sample standard deviation, and stores them (all or nothing) as that sensor's models,
replacing each as a fit does: its adjustment (POST /{sensor_id}/adjust) goes back to 1 (with
--merge it is kept). A new SQLite database is created only once there is something to store:
a failed run leaves none behind.

Arguments:
  FILE           the readings file (default data/collects.csv; relative to the current folder,
                 which under npm run is the project's): a
                 sensorId column and the six params.velRMS.{x,y,z} and
                 params.accelRMS.{x,y,z} columns, found by name
Options:
  --threads N    how many threads read a large file at once, 1 to 16 (default: a CSV of
                 128 MB or more, the CPUs available, else 1; a Parquet file, half the CPUs,
                 each with a DuckDB thread)
  --format F     csv or parquet (default: from the extension, .parquet or .pq; else csv)
  --merge        merge the file's readings into the stored models (absent ones are created)
                 instead of replacing them: train a.csv then train --merge b.csv gives what
                 training both files at once gives (means bit for bit, std to ~1e-15)
  -h, --help     this text

The weights go to DATABASE_URL's PostgreSQL database when it is set, else to the SQLite file
DB_PATH (default data/sensors.db).

Example:
  sensor-alerts train data/collects.csv --threads 2

Exit codes: 0 trained and stored; 1 nothing stored (bad configuration, file or
database); 2 bad arguments, nothing stored. One line on stderr says why.
`;

runCli('train', async () => {
  const parsed = parseCliArguments({ help: HELP, options: { threads: { type: 'string' }, merge: { type: 'boolean' }, format: { type: 'string' } }, maxPositionals: 1 });
  if (!parsed) return;
  const { positionals, values: options } = parsed;
  const path = filePathArgument(positionals[0] ?? 'data/collects.csv');
  const threads = options.threads === undefined ? undefined : Number(options.threads);
  if (threads !== undefined && !(WHOLE_NUMBER_PATTERN.test(options.threads!) && threads >= 1 && threads <= 16)) throw new UsageError('--threads must be a whole number from 1 to 16, in decimal digits');
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
  // An existing database (or PostgreSQL) is opened now, so a wrong one fails before a long
  // read; a new SQLite file only once there is something to store, so a failed run leaves none.
  let storage: Promise<WeightsStorage> | undefined;
  const open = () => (storage ??= openWeightsStorage(config).then(sayMigration));
  if (config.databaseUrl || existsSync(config.dbPath)) await open();
  let summary;
  try {
    summary = await new TrainSensorsUseCase(openedOnFirstCall(open)).execute(source, { merge: options.merge === true });
  } finally {
    progress?.finish(); // clear the bar before anything else is printed
    await storage?.then((opened) => opened.close(), () => undefined); // a failed open was reported by the call that made it
  }
  const seconds = (performance.now() - startedAt) / 1000;
  // Thousands separators by hand: toLocaleString loads ICU's locale data, ~70 ms of a run.
  const count = (value: number) => String(Math.round(value)).replace(/\B(?=(\d{3})+$)/g, ',');
  console.log(
    `${options.merge ? `merged ${plural(summary.models, 'model', count)} of ${plural(summary.sensors, 'sensor', count)}` : `trained ${plural(summary.sensors, 'sensor', count)} x ${plural(summary.metrics, 'column')}`} ` +
      `from ${plural(summary.rows, 'row', count)} of ${path} ` +
      `(${(summary.bytes / 1e6).toFixed(1)} MB) into ${describeWeightsStorage(config)} in ${seconds.toFixed(2)} s: ` +
      `${count(summary.rows / seconds)} rows/s, ${(summary.bytes / 1e6 / seconds).toFixed(1)} MB/s`,
  );
});

function plural(value: number, noun: string, format: (value: number) => string = String): string {
  return `${format(value)} ${noun}${value === 1 ? '' : 's'}`;
}

/** A migration holds the database's write lock for its length (seconds, for a large SQLite history): say so. */
function sayMigration(storage: WeightsStorage): WeightsStorage {
  const made = storage.migration;
  if (made) console.error(`train: migrated the weights database from schema ${made.from} to ${made.to} in ${made.ms} ms`);
  return storage;
}

/** The repository of a storage opened when first used. */
function openedOnFirstCall(open: () => Promise<WeightsStorage>): WeightsRepository {
  return new Proxy({} as WeightsRepository, {
    get: (_target, method: keyof WeightsRepository) =>
      async (...args: unknown[]) => {
        const { repository } = await open();
        return (repository[method] as (...args: unknown[]) => unknown).apply(repository, args);
      },
  });
}

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
