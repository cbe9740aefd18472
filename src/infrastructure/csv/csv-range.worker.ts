// A worker thread that summarises one line-aligned range of a CSV file (see CsvReadingsSource).
import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import type { Moments } from '../../domain/readings-accumulator';
import { CsvRangeScanner, type CsvHeader, type RangeScan } from './csv-range.scanner';

export interface RangeJob {
  readonly path: string;
  readonly metrics: readonly string[];
  readonly sensorColumn: string;
  readonly chunkBytes: number;
  readonly header: CsvHeader;
  /** Line-aligned byte ranges, in file order, shared by every thread reading the file. */
  readonly ranges: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  /** Element 0: the index of the next range nobody has claimed (Atomics.add claims it). */
  readonly next: Int32Array;
}

/** One range's summary; lines are relative to the range: its first line is 1. */
export interface RangeSummary {
  readonly index: number;
  readonly scan: RangeScan;
  readonly sensors: Array<{ sensorId: string; firstLine: number; moments: Moments[] }>;
}

/**
 * Claims ranges until none is left, summarising each apart. Undefined for malformed data:
 * the caller rereads the file in one thread to report it exactly.
 */
function summarizeRanges(job: RangeJob): RangeSummary[] | undefined {
  const fd = openSync(job.path, 'r');
  const scanner = new CsvRangeScanner(job.path, fd, job.metrics, job.sensorColumn, job.chunkBytes);
  const summaries: RangeSummary[] = [];
  try {
    for (let index = Atomics.add(job.next, 0, 1); index < job.ranges.length; index = Atomics.add(job.next, 0, 1)) {
      const { from, to } = job.ranges[index]!;
      const builder = new ReadingsSummaryBuilder(job.metrics.length);
      const scan = scanner.scan(job.header, from, to, 1, (sensorId, readings, line) => builder.add(sensorId, readings, line));
      const sensors = builder.build(0).sensors.map(({ sensorId, firstLine, accumulators }) => ({
        sensorId,
        firstLine,
        moments: accumulators.map((accumulator) => accumulator.moments()),
      }));
      summaries.push({ index, scan, sensors });
    }
    return summaries;
  } catch (error) {
    if (error instanceof InvalidReadingsError) return undefined;
    throw error;
  } finally {
    closeSync(fd);
  }
}

parentPort?.postMessage(summarizeRanges(workerData as RangeJob));
