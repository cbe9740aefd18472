import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummary, SensorReadings, SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import { ReadingsAccumulator } from '../../domain/readings-accumulator';
import { CsvRangeScanner, type CsvHeader, type RangeScan } from './csv-range.scanner';
import type { RangeJob, RangeSummary } from './csv-range.worker';

// Below this, starting worker threads costs more than it saves.
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
// Workers exist only as compiled JavaScript (under ts sources, as in unit tests, one thread reads).
const WORKER_SCRIPT = join(__dirname, 'csv-range.worker.js');

export interface CsvReadingsOptions {
  /** The column holding the sensor id. */
  readonly sensorColumn?: string;
  readonly chunkBytes?: number;
  /** How many threads may read parts of a large file at once; defaults to the CPUs available. */
  readonly threads?: number;
  /** Called after each chunk with the bytes consumed so far and the file size. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/**
 * A CSV file of readings, columns found by header name. A large file is split at line
 * boundaries into one range per thread; each range is summarised apart and the parts are
 * merged in file order (Chan's pairwise update), with line numbers kept absolute. A split
 * can only go wrong inside a quoted field, and then the range holds a quote: any quote in
 * a parallel range makes the file be read again by one thread.
 */
export class CsvReadingsSource implements SensorReadingsSource {
  private readonly sensorColumn: string;
  private readonly chunkBytes: number;
  private readonly threads: number;

  constructor(
    private readonly path: string,
    readonly metrics: readonly string[],
    private readonly options: CsvReadingsOptions = {},
  ) {
    this.sensorColumn = options.sensorColumn ?? 'sensorId';
    this.chunkBytes = options.chunkBytes ?? 1 << 20;
    this.threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), 16));
  }

  get name(): string {
    return this.path;
  }

  async summarize(): Promise<ReadingsSummary> {
    const fd = this.open();
    try {
      return await this.summarizeOpen(fd);
    } catch (error) {
      // A read that fails (EIO, a file truncated meanwhile...) is one line naming the file, not a stack.
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new InvalidReadingsError(this.path, `cannot read the file (${code})`);
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  private async summarizeOpen(fd: number): Promise<ReadingsSummary> {
    const size = fstatSync(fd).size;
    const scanner = new CsvRangeScanner(this.path, fd, this.metrics, this.sensorColumn, this.chunkBytes);
    const header = scanner.readHeader();
    if (this.threads > 1 && size - header.dataStart >= PARALLEL_MIN_BYTES && existsSync(WORKER_SCRIPT)) {
      const summary = await this.summarizeInParallel(fd, scanner, header, size);
      if (summary) return summary;
    }
    const builder = new ReadingsSummaryBuilder(this.metrics.length);
    const progress = this.options.onProgress;
    const reportProgress = progress && ((bytes: number) => progress(header.dataStart + bytes, size));
    scanner.scan(header, header.dataStart, size, header.dataLine, (sensorId, readings, line) => builder.add(sensorId, readings, line), reportProgress);
    return builder.build(size);
  }

  /**
   * Only a regular file: a directory fails on its first read (EISDIR), a FIFO cannot be read
   * at an offset (ESPIPE) and its open may wait for a writer forever, a device such as
   * /dev/zero never ends. Checked before opening, so nothing blocks.
   */
  private open(): number {
    try {
      const kind = statSync(this.path);
      if (!kind.isFile()) throw new InvalidReadingsError(this.path, kind.isDirectory() ? 'is a directory, not a file' : 'not a regular file (a FIFO, device or socket)');
      const fd = openSync(this.path, 'r');
      if (!fstatSync(fd).isFile()) {
        closeSync(fd);
        throw new InvalidReadingsError(this.path, 'not a regular file');
      }
      return fd;
    } catch (error) {
      if (error instanceof InvalidReadingsError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new InvalidReadingsError(this.path, code === 'ENOENT' ? 'no such file' : `cannot open the file (${code ?? 'unknown error'})`);
    }
  }

  /**
   * Undefined when a range holds a quote (a split point may sit inside a quoted field) or
   * malformed data: then one thread reads the whole file, and reports errors with their
   * exact line.
   */
  private async summarizeInParallel(fd: number, scanner: CsvRangeScanner, header: CsvHeader, size: number): Promise<ReadingsSummary | undefined> {
    const starts = lineBoundaries(fd, header.dataStart, size, this.threads);
    const ranges = starts.map((from, index) => ({ from, to: starts[index + 1] ?? size }));
    const { path, metrics, sensorColumn, chunkBytes } = this;
    // This thread reads the first range while the workers read the others.
    const workers = ranges.slice(1).map(({ from, to }) => runWorker({ path, metrics, sensorColumn, chunkBytes, header, from, to }));
    const merged = new ReadingsSummaryBuilder(metrics.length);
    const progress = this.options.onProgress;
    const { from, to } = ranges[0]!;
    let firstScan: RangeScan | undefined;
    try {
      // Progress of this range stands for all of them: they are the same size.
      const reportProgress = progress && ((bytes: number) => progress(Math.min(size, header.dataStart + bytes * ranges.length), size));
      firstScan = scanner.scan(header, from, to, header.dataLine, (sensorId, readings, line) => merged.add(sensorId, readings, line), reportProgress);
    } catch (error) {
      if (!(error instanceof InvalidReadingsError)) throw error;
    }
    const outcomes = await Promise.all(workers);
    if (!firstScan || firstScan.sawQuote || outcomes.some((outcome) => !outcome || outcome.scan.sawQuote)) return undefined;

    // Merge in file order, making each range's line numbers absolute.
    let line = header.dataLine + firstScan.lines;
    for (const outcome of outcomes as RangeSummary[]) {
      const sensors: SensorReadings[] = outcome.sensors.map(({ sensorId, firstLine, moments }) => ({
        sensorId,
        firstLine: line + firstLine - 1,
        accumulators: moments.map((metric) => ReadingsAccumulator.fromMoments(metric)),
      }));
      merged.merge({ rows: outcome.scan.rows, sensors });
      line += outcome.scan.lines;
    }
    return merged.build(size);
  }
}

function runWorker(job: RangeJob): Promise<RangeSummary | undefined> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: job });
    worker.once('message', (outcome: RangeSummary | undefined) => resolve(outcome));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`CSV worker exited with code ${code}`)));
  });
}

/** Splits `[from, size)` into up to `parts` ranges, each starting just after a newline. */
function lineBoundaries(fd: number, from: number, size: number, parts: number): number[] {
  const starts = [from];
  const probe = Buffer.allocUnsafe(64 * 1024);
  for (let part = 1; part < parts; part++) {
    let offset = Math.max(starts.at(-1)!, from + Math.floor(((size - from) * part) / parts) - 1);
    let start = -1;
    while (start < 0 && offset < size) {
      const bytesRead = readSync(fd, probe, 0, probe.length, offset);
      const newline = probe.subarray(0, bytesRead).indexOf(0x0a);
      if (newline >= 0) start = offset + newline + 1;
      else offset += bytesRead;
    }
    if (start < 0 || start >= size) break;
    if (start > starts.at(-1)!) starts.push(start);
  }
  return starts;
}
