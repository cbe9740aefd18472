import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummary, SensorReadings, SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import { ReadingsAccumulator } from '../../domain/readings-accumulator';
import type { ParquetRangeJob, ParquetRangeSummary } from './parquet-range.worker';
import { ParquetRowsReader } from './parquet-rows.reader';

// Below this many rows, starting a worker and a second DuckDB costs more than it saves.
const PARALLEL_MIN_ROWS = 500_000;
// Workers exist only as compiled JavaScript (under ts sources, as in unit tests, one thread reads).
const WORKER_SCRIPT = join(__dirname, 'parquet-range.worker.js');

export interface ParquetReadingsOptions {
  /** The column holding the sensor id. */
  readonly sensorColumn?: string;
  /** How many threads accumulate rows (each with its own DuckDB); defaults to 2. */
  readonly threads?: number;
  /** Called after each chunk of rows with the rows read so far (by this thread, scaled) and the file's row count. */
  readonly onProgress?: (rowsRead: number, totalRows: number) => void;
}

/**
 * A Parquet file of readings, columns found by name, decoded by DuckDB. Every reading goes
 * through the same ReadingsSummaryBuilder as the CSV path, so the statistics are the same:
 * the mean bit for bit (an exact sum, rounded once, whatever the order). A large file is
 * split at row group boundaries, one range per thread; the parts merge in file order (Chan's
 * pairwise update), like the CSV path's. Rows are numbered from 1 in messages, in place of
 * CSV lines.
 */
export class ParquetReadingsSource implements SensorReadingsSource {
  private readonly sensorColumn: string;
  private readonly threads: number;

  constructor(
    private readonly path: string,
    readonly metrics: readonly string[],
    private readonly options: ParquetReadingsOptions = {},
  ) {
    this.sensorColumn = options.sensorColumn ?? 'sensorId';
    this.threads = Math.max(1, Math.min(options.threads ?? 2, 16));
  }

  get name(): string {
    return this.path;
  }

  async summarize(): Promise<ReadingsSummary> {
    if (!existsSync(this.path)) throw new InvalidReadingsError(this.path, 'no such file');
    const reader = await ParquetRowsReader.open(this.path, 1);
    try {
      const { groupStarts, rows } = await reader.checkSchema(this.sensorColumn, this.metrics);
      const starts = this.threads > 1 && rows >= PARALLEL_MIN_ROWS && existsSync(WORKER_SCRIPT) ? splitAt(groupStarts, rows, this.threads) : [0];
      const ranges = starts.map((from, index) => ({ from, to: starts[index + 1] ?? rows }));
      const { path, metrics, sensorColumn } = this;
      // This thread reads the first range while the workers read the others.
      const workers = ranges.slice(1).map(({ from, to }) => runWorker({ path, metrics, sensorColumn, from, to }));
      const builder = new ReadingsSummaryBuilder(metrics.length);
      const progress = this.options.onProgress;
      const first = ranges[0]!;
      const reading = reader.read(sensorColumn, metrics, first.from, first.to, builder, progress && ((done) => progress(Math.min(rows, done * ranges.length), rows)));
      const [firstOutcome, ...outcomes] = await Promise.allSettled([reading, ...workers]);
      if (firstOutcome.status === 'rejected') throw firstOutcome.reason;
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') throw outcome.reason;
        const { error, sensors: parts = [], rows: partRows = 0 } = outcome.value;
        if (error) throw new InvalidReadingsError(path, error.reason, error.line, error.column);
        const sensors: SensorReadings[] = parts.map(({ sensorId, firstLine, moments }) => ({
          sensorId,
          firstLine,
          accumulators: moments.map((metric) => ReadingsAccumulator.fromMoments(metric)),
        }));
        builder.merge({ rows: partRows, sensors });
      }
      return builder.build(statSync(this.path).size);
    } finally {
      reader.close();
    }
  }
}

/** Up to `parts` range starts, each at a row group boundary near an equal share of the rows. */
function splitAt(groupStarts: readonly number[], rows: number, parts: number): number[] {
  const starts = [0];
  for (let part = 1; part < parts; part++) {
    const target = (rows * part) / parts;
    const start = groupStarts.reduce((best, next) => (Math.abs(next - target) < Math.abs(best - target) ? next : best), 0);
    if (start > starts.at(-1)!) starts.push(start);
  }
  return starts;
}

function runWorker(job: ParquetRangeJob): Promise<ParquetRangeSummary> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: job });
    worker.once('message', (outcome: ParquetRangeSummary) => resolve(outcome));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`Parquet worker exited with code ${code}`)));
  });
}
