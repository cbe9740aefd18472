import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummary, SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import { ReadingsAccumulator } from '../../domain/readings-accumulator';
import { ParquetRangeSummarizer, type ParquetRangeError, type ParquetRangeJob } from './parquet-range.summarizer';
import type { ParquetWorkerOutcome } from './parquet-range.worker';
import { ParquetRowsReader } from './parquet-rows.reader';
import { globFreePath } from '../duckdb/glob-free-path';
import { checkUnchanged } from '../file-unchanged';

// Below this many rows, starting a worker and a second DuckDB costs more than it saves.
const PARALLEL_MIN_ROWS = 500_000;
// A parallel read claims ranges of whole row groups, at most this many per thread.
const MAX_RANGES_PER_THREAD = 16;
// ...and at least this many rows per sensor seen in the first SAMPLE_ROWS rows: building a
// sensor's six accumulators costs about what summing 100 rows does (1,000 sensors in 293 row
// groups of 2,048 rows, two threads: 3.6 s with 32 ranges).
const ROWS_PER_SENSOR = 100;
const SAMPLE_ROWS = 65_536;
// Workers exist only as compiled JavaScript (under ts sources, as in unit tests, one thread reads).
const WORKER_SCRIPT = join(__dirname, 'parquet-range.worker.js');

export interface ParquetReadingsOptions {
  /** The column holding the sensor id. */
  readonly sensorColumn?: string;
  /**
   * How many threads accumulate rows, each with its own DuckDB decoding a chunk ahead on one
   * more thread: defaults to half the CPUs (1 on 2 CPUs, where a second thread made the real
   * rows x100 0.86 s against 0.63 s, each competing with the other's DuckDB).
   */
  readonly threads?: number;
  /** Called after each chunk of rows with the rows read so far (by this thread, scaled) and the file's row count. */
  readonly onProgress?: (rowsRead: number, totalRows: number) => void;
}

/**
 * A Parquet file of readings, columns found by name, decoded by DuckDB. Every reading goes
 * through the same ReadingsSummaryBuilder as the CSV path, so the statistics are the same:
 * the mean bit for bit (an exact sum, rounded once, whatever the order). A large file is
 * cut at row group boundaries into ranges that the threads claim in turns (see
 * ParquetRangeSummarizer); the parts merge in file order (Chan's pairwise update), like the
 * CSV path's. Rows are numbered from 1 in messages, in place of CSV lines.
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
    this.threads = Math.max(1, Math.min(options.threads ?? Math.floor(availableParallelism() / 2), 16));
  }

  get name(): string {
    return this.path;
  }

  /**
   * How many ranges a parallel read cuts the file into: up to MAX_RANGES_PER_THREAD per
   * thread, but each range builds an accumulator per (sensor, column) it meets, so with many
   * sensors (as sampled) fewer, longer ranges.
   */
  private async rangeCount(reader: ParquetRowsReader, rows: number): Promise<number> {
    const sensors = await reader.sensorsNear(this.sensorColumn, SAMPLE_ROWS);
    return Math.min(this.threads * MAX_RANGES_PER_THREAD, Math.max(this.threads, Math.floor(rows / (ROWS_PER_SENSOR * sensors))));
  }

  async summarize(): Promise<ReadingsSummary> {
    if (!existsSync(this.path)) throw new InvalidReadingsError(this.path, 'no such file');
    const before = statSync(this.path);
    const readable = globFreePath(this.path);
    const reader = await ParquetRowsReader.open(this.path, readable.path, 1).catch((error: unknown) => {
      readable.release();
      throw error;
    });
    try {
      const { groupStarts, rows, decimalText } = await reader.checkSchema(this.sensorColumn, this.metrics);
      const parallel = this.threads > 1 && rows >= PARALLEL_MIN_ROWS && existsSync(WORKER_SCRIPT);
      const ranges = parallel ? rangesAt(groupStarts, rows, await this.rangeCount(reader, rows)) : [{ from: 0, to: rows }];
      const { path, metrics, sensorColumn } = this;
      const readPath = readable.path;
      const job: ParquetRangeJob = { path, readPath, metrics, sensorColumn, decimalText, ranges, next: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) };
      const workers = parallel ? Array.from({ length: this.threads - 1 }, () => runWorker(job)) : [];
      const progress = this.options.onProgress;
      // This thread claims ranges like the workers; its progress stands for all of them.
      const reading = new ParquetRangeSummarizer(reader).summarize(job, progress && ((done) => progress(Math.min(rows, done * (workers.length + 1)), rows)));
      const [mine, ...theirs] = await Promise.all([reading, ...workers]);
      // The first bad range in file order is the one reported, as one thread would.
      const errors = [mine.error, ...theirs.map((outcome) => outcome.error)].filter((error) => error !== undefined);
      const first = errors.reduce<ParquetRangeError | undefined>((earliest, error) => (!earliest || error.index < earliest.index ? error : earliest), undefined);
      if (first) throw new InvalidReadingsError(path, first.reason, first.line, first.column);

      const parts: Array<Pick<ReadingsSummary, 'rows' | 'sensors'>> = [];
      for (const { index, summary } of mine.parts) parts[index] = summary;
      for (const outcome of theirs) {
        for (const { index, rows: partRows, sensors } of outcome.parts) {
          parts[index] = {
            rows: partRows,
            sensors: sensors.map(({ sensorId, firstLine, moments }) => ({ sensorId, firstLine, accumulators: moments.map((metric) => ReadingsAccumulator.fromMoments(metric)) })),
          };
        }
      }
      // Merged in file order (Chan's pairwise update), like the CSV path's parts.
      const builder = new ReadingsSummaryBuilder(metrics.length);
      for (const part of parts) builder.merge(part);
      checkUnchanged(this.path, before);
      return builder.build(before.size);
    } catch (error) {
      // A file cut short or rewritten meanwhile reads as corrupt: say why, if it changed.
      if (error instanceof InvalidReadingsError) checkUnchanged(this.path, before);
      throw error;
    } finally {
      reader.close();
      readable.release();
    }
  }
}

/** Up to `most` row ranges of about equal rows, each starting at a row group boundary: one per row group when there are few. */
function rangesAt(groupStarts: readonly number[], rows: number, most: number): Array<{ from: number; to: number }> {
  const count = Math.min(most, groupStarts.length);
  const starts = [0];
  for (let part = 1; part < count; part++) {
    const target = (rows * part) / count;
    const start = groupStarts.reduce((best, next) => (Math.abs(next - target) < Math.abs(best - target) ? next : best), 0);
    if (start > starts.at(-1)!) starts.push(start);
  }
  return starts.map((from, index) => ({ from, to: starts[index + 1] ?? rows }));
}

function runWorker(job: ParquetRangeJob): Promise<ParquetWorkerOutcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: job });
    worker.once('message', (outcome: ParquetWorkerOutcome) => resolve(outcome));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`Parquet worker exited with code ${code}`)));
  });
}
