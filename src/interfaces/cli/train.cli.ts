// Learns every sensor and vibration column of a readings file and stores the weights.
import 'reflect-metadata';
import { statSync } from 'node:fs';
import { TrainSensorsUseCase } from '../../application/train-sensors.use-case';
import { loadConfig } from '../../config';
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import { CsvReadingsSource } from '../../infrastructure/csv/csv-readings.source';
import { describeWeightsStorage, openWeightsStorage } from '../../weights-storage';
import { parseCliArguments } from './cli-arguments';
import { runCli } from './run-cli';
import { UsageError } from './usage.error';
import { TerminalProgressBar } from './terminal-progress-bar';

// Below this, a run is over before a bar could say anything useful.
const PROGRESS_BAR_MIN_BYTES = 32 * 1024 * 1024;

const HELP = `Usage: sensor-alerts train [FILE] [--threads N] [--merge]
       npm run train -- [FILE] [--threads N] [--merge]

Learns, for every sensor and vibration column of a readings CSV, the mean and sample
standard deviation, and stores them (all or nothing) as that sensor's models.

Arguments:
  FILE           the readings CSV (default data/collects.csv): a sensorId column and the six
                 params.velRMS.{x,y,z} and params.accelRMS.{x,y,z} columns, found by header name
Options:
  --threads N    how many threads read a large file at once (default: the CPUs available)
  --merge        merge the file's readings into the stored models (absent ones are created)
                 instead of replacing them: train a.csv then train --merge b.csv equals
                 training both files at once
  -h, --help     this text

The weights go to DATABASE_URL's PostgreSQL database when it is set, else to the SQLite file
DB_PATH (default data/sensors.db).

Example:
  sensor-alerts train data/collects.csv --threads 2

Exit codes: 0 trained and stored; 1 nothing stored (bad arguments, configuration, file or
database, with one line on stderr saying why).
`;

runCli('train', async () => {
  const parsed = parseCliArguments({ help: HELP, options: { threads: { type: 'string' }, merge: { type: 'boolean' } }, maxPositionals: 1 });
  if (!parsed) return;
  const { positionals, values: options } = parsed;
  const path = positionals[0] ?? 'data/collects.csv';
  const threads = options.threads === undefined ? undefined : Number(options.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new UsageError('--threads must be a whole number >= 1');
  const config = loadConfig();
  const startedAt = performance.now();

  const progress = process.stderr.isTTY && fileSize(path) >= PROGRESS_BAR_MIN_BYTES ? new TerminalProgressBar(process.stderr) : undefined;
  const source = new CsvReadingsSource(path, VIBRATION_METRICS, {
    ...(threads !== undefined && { threads }),
    onProgress: progress && ((done, total) => progress.update(done, total)),
  });
  const storage = await openWeightsStorage(config);
  let summary;
  try {
    summary = await new TrainSensorsUseCase(storage.repository).execute(source, { merge: options.merge === true });
  } finally {
    progress?.finish(); // clear the bar before anything else is printed
    await storage.close();
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const count = (value: number) => Math.round(value).toLocaleString('en-US');
  console.log(
    `${options.merge ? 'merged' : 'trained'} ${summary.sensors} sensors x ${summary.metrics} columns from ${count(summary.rows)} rows of ${path} ` +
      `(${(summary.bytes / 1e6).toFixed(1)} MB) into ${describeWeightsStorage(config)} in ${seconds.toFixed(2)} s: ` +
      `${count(summary.rows / seconds)} rows/s, ${(summary.bytes / 1e6 / seconds).toFixed(1)} MB/s`,
  );
});

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // the trainer reports the missing file itself
  }
}
