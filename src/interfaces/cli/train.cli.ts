// Learns every sensor and vibration column of a readings file and stores the weights.
// Usage: npm run train -- [path] [--threads N] [--merge]
//   path       default data/collects.csv; the weights go to DATABASE_URL's database, or else DB_PATH's
//   --threads  how many threads read a large file at once (default: the CPUs available)
//   --merge    merge the file's readings into the stored models (absent ones are created) instead
//              of replacing them: train a.csv then train --merge b.csv equals training both at once
import 'reflect-metadata';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TrainSensorsUseCase } from '../../application/train-sensors.use-case';
import { loadConfig } from '../../config';
import { VIBRATION_METRICS } from '../../domain/vibration-metrics';
import { CsvReadingsSource } from '../../infrastructure/csv/csv-readings.source';
import { describeWeightsStorage, openWeightsStorage } from '../../weights-storage';
import { runCli, UsageError } from './run-cli';
import { TerminalProgressBar } from './terminal-progress-bar';

// Below this, a run is over before a bar could say anything useful.
const PROGRESS_BAR_MIN_BYTES = 32 * 1024 * 1024;

runCli('train', async () => {
  const { positionals, values: options } = parseArgs({ allowPositionals: true, options: { threads: { type: 'string' }, merge: { type: 'boolean' } } });
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
