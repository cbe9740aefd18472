import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummary, SensorReadings, SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import { ReadingsAccumulator } from '../../domain/readings-accumulator';
import { checkUnchanged } from '../file-unchanged';
import { CsvRangeScanner, type CsvHeader } from './csv-range.scanner';
import type { RangeJob, RangeSummary } from './csv-range.worker';

// Below this, starting worker threads costs more than it saves, however many are asked for.
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
// Below this, the default is one thread. Measured here (2 CPUs, real rows, whole processes,
// medians of 5): 49 MB 0.26 s on one thread against 0.32 s on two, 100 MB 0.38 against 0.40,
// 200 MB 0.62 against 0.54. A worker boots in ~50 ms and reads its first 8 MB range ~4x
// slower than once its code is optimised.
const DEFAULT_PARALLEL_MIN_BYTES = 128 * 1024 * 1024;
// A parallel read cuts the file into ranges of about this size (~20-40 ms of reading each),
// at most this many per thread: small enough that threads finish together, few enough
// that merging their parts costs nothing.
const RANGE_BYTES = 8 * 1024 * 1024;
const MAX_RANGES_PER_THREAD = 16;
// Each range builds an accumulator per (sensor, column) it meets, ~20 us per sensor, about
// what reading 8 KB costs: with many sensors interleaved, ranges grow so that reading still
// outweighs that (10,000 sensors in 135 MB: 8 MB ranges took 19 s, ranges of 80 MB ~4 s). The
// sensors seen in the first SAMPLE_BYTES of data stand for the file's.
const RANGE_BYTES_PER_SENSOR = 8 * 1024;
const SAMPLE_BYTES = 1024 * 1024;
// The first (and last) four bytes of every Parquet file.
const PARQUET_MAGIC = Buffer.from('PAR1');
// Workers exist only as compiled JavaScript (under ts sources, as in unit tests, one thread reads).
const WORKER_SCRIPT = join(__dirname, 'csv-range.worker.js');

export interface CsvReadingsOptions {
  /** The column holding the sensor id. */
  readonly sensorColumn?: string;
  readonly chunkBytes?: number;
  /**
   * How many threads may read parts of a file of 16 MiB or more at once; defaults to the CPUs
   * available for a file of 128 MiB or more, else 1.
   */
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
  private readonly parallelMinBytes: number;

  constructor(
    private readonly path: string,
    readonly metrics: readonly string[],
    private readonly options: CsvReadingsOptions = {},
  ) {
    this.sensorColumn = options.sensorColumn ?? 'sensorId';
    this.chunkBytes = options.chunkBytes ?? 1 << 20;
    this.threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), 16));
    this.parallelMinBytes = options.threads === undefined ? DEFAULT_PARALLEL_MIN_BYTES : PARALLEL_MIN_BYTES;
  }

  get name(): string {
    return this.path;
  }

  async summarize(): Promise<ReadingsSummary> {
    const fd = this.open();
    const before = fstatSync(fd);
    try {
      const summary = await this.summarizeOpen(fd, before.size);
      checkUnchanged(this.path, before);
      return summary;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A line cut short, an early end, a failed read: say why, if the file changed meanwhile.
      if (error instanceof InvalidReadingsError || typeof code === 'string') checkUnchanged(this.path, before);
      // A read that fails (EIO...) is one line naming the file, not a stack.
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new InvalidReadingsError(this.path, `cannot read the file (${code})`);
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  private async summarizeOpen(fd: number, size: number): Promise<ReadingsSummary> {
    if (size >= PARQUET_MAGIC.length && startsWith(fd, PARQUET_MAGIC)) {
      // Its binary header would read as "missing required columns", which helps nobody.
      throw new InvalidReadingsError(this.path, 'is a Parquet file (it starts with PAR1), not a CSV: train reads it as Parquet when its name ends in .parquet, or with --format parquet');
    }
    const scanner = new CsvRangeScanner(this.path, fd, this.metrics, this.sensorColumn, this.chunkBytes);
    const header = scanner.readHeader();
    if (this.threads > 1 && size - header.dataStart >= this.parallelMinBytes && existsSync(WORKER_SCRIPT)) {
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
   *
   * The file is cut into more ranges than threads, and each thread (this one included)
   * claims the next unread range until none is left: a thread that starts late (a worker
   * boots in tens of milliseconds) or runs slower (a busy machine) reads fewer ranges, and
   * all finish together. Each range is summarised apart; the parts merge in file order.
   */
  private async summarizeInParallel(fd: number, scanner: CsvRangeScanner, header: CsvHeader, size: number): Promise<ReadingsSummary | undefined> {
    const rangeBytes = Math.max(RANGE_BYTES, sensorsNear(fd, scanner, header, size) * RANGE_BYTES_PER_SENSOR);
    const count = Math.min(this.threads * MAX_RANGES_PER_THREAD, Math.max(this.threads, Math.ceil((size - header.dataStart) / rangeBytes)));
    const starts = lineBoundaries(fd, header.dataStart, size, count);
    const ranges = starts.map((from, index) => ({ from, to: starts[index + 1] ?? size }));
    const next = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const { path, metrics, sensorColumn, chunkBytes } = this;
    const workers = Array.from({ length: this.threads - 1 }, () => runWorker({ path, metrics, sensorColumn, chunkBytes, header, ranges, next }));
    // Kept as moments, plain data: a part's accumulators (a block of 1,024 readings each) go as soon as it is read.
    const parts: Array<Pick<RangeSummary, 'scan' | 'sensors'> | undefined> = ranges.map(() => undefined);
    const progress = this.options.onProgress;
    let bytesDone = 0; // by this thread: it stands for all of them
    try {
      for (let index = Atomics.add(next, 0, 1); index < ranges.length; index = Atomics.add(next, 0, 1)) {
        const { from, to } = ranges[index]!;
        const builder = new ReadingsSummaryBuilder(metrics.length);
        const reportProgress = progress && ((bytes: number) => progress(Math.min(size, header.dataStart + (bytesDone + bytes) * this.threads), size));
        const scan = scanner.scan(header, from, to, 1, (sensorId, readings, line) => builder.add(sensorId, readings, line), reportProgress);
        parts[index] = { scan, sensors: momentsOf(builder.build(0).sensors) };
        bytesDone += to - from;
      }
    } catch (error) {
      if (!(error instanceof InvalidReadingsError)) throw error;
      Atomics.store(next, 0, ranges.length); // no need to read on: the file will be read again
      await Promise.all(workers);
      return undefined;
    }
    for (const outcome of await Promise.all(workers)) {
      if (!outcome) return undefined;
      for (const { index, scan, sensors } of outcome) parts[index] = { scan, sensors };
    }
    if (parts.some((part) => !part || part.scan.sawQuote)) return undefined;

    // Merge in file order, making each range's line numbers absolute.
    const merged = new ReadingsSummaryBuilder(metrics.length);
    let line = header.dataLine;
    for (const { scan, sensors } of parts as Array<Pick<RangeSummary, 'scan' | 'sensors'>>) {
      const readings: SensorReadings[] = sensors.map(({ sensorId, firstLine, moments }) => ({
        sensorId,
        firstLine: line + firstLine - 1,
        accumulators: moments.map((metric) => ReadingsAccumulator.fromMoments(metric)),
      }));
      merged.merge({ rows: scan.rows, sensors: readings });
      line += scan.lines;
    }
    return merged.build(size);
  }
}

function momentsOf(sensors: readonly SensorReadings[]): RangeSummary['sensors'] {
  return sensors.map(({ sensorId, firstLine, accumulators }) => ({ sensorId, firstLine, moments: accumulators.map((accumulator) => accumulator.moments()) }));
}

function runWorker(job: RangeJob): Promise<RangeSummary[] | undefined> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: job });
    worker.once('message', (outcome: RangeSummary[] | undefined) => resolve(outcome));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`CSV worker exited with code ${code}`)));
  });
}

/** Splits `[from, size)` into up to `parts` ranges, each starting just after a newline. */
function lineBoundaries(fd: number, from: number, size: number, parts: number): number[] {
  const starts = [from];
  for (let part = 1; part < parts; part++) {
    const start = lineStartAfter(fd, Math.max(starts.at(-1)!, from + Math.floor(((size - from) * part) / parts) - 1), size);
    if (start >= size) break;
    if (start > starts.at(-1)!) starts.push(start);
  }
  return starts;
}

/** Where the first line after the newline at or after `offset` starts (`size` when none does). */
function lineStartAfter(fd: number, offset: number, size: number): number {
  const probe = Buffer.allocUnsafe(64 * 1024);
  while (offset < size) {
    const bytesRead = readSync(fd, probe, 0, probe.length, offset);
    const newline = probe.subarray(0, bytesRead).indexOf(0x0a);
    if (newline >= 0) return offset + newline + 1;
    offset += bytesRead;
  }
  return size;
}

/** How many sensors the first SAMPLE_BYTES of data hold (0 if they do not read: the ranges will say why). */
function sensorsNear(fd: number, scanner: CsvRangeScanner, header: CsvHeader, size: number): number {
  const sensors = new Set<string>();
  try {
    scanner.scan(header, header.dataStart, lineStartAfter(fd, Math.min(size, header.dataStart + SAMPLE_BYTES), size), header.dataLine, (sensorId) => sensors.add(sensorId));
  } catch (error) {
    if (!(error instanceof InvalidReadingsError)) throw error;
  }
  return sensors.size;
}

function startsWith(fd: number, bytes: Buffer): boolean {
  const start = Buffer.alloc(bytes.length);
  return readSync(fd, start, 0, bytes.length, 0) === bytes.length && start.equals(bytes);
}
