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
  readonly from: number;
  readonly to: number;
}

/** Lines are relative to the range: its first line is 1. */
export interface RangeSummary {
  readonly scan: RangeScan;
  readonly sensors: Array<{ sensorId: string; firstLine: number; moments: Moments[] }>;
}

/** Undefined for malformed data: the caller rereads the file in one thread to report it exactly. */
function summarizeRange(job: RangeJob): RangeSummary | undefined {
  const fd = openSync(job.path, 'r');
  const scanner = new CsvRangeScanner(job.path, fd, job.metrics, job.sensorColumn, job.chunkBytes);
  const builder = new ReadingsSummaryBuilder(job.metrics.length);
  try {
    const scan = scanner.scan(job.header, job.from, job.to, 1, (sensorId, readings, line) => builder.add(sensorId, readings, line));
    const sensors = builder.build(0).sensors.map(({ sensorId, firstLine, accumulators }) => ({
      sensorId,
      firstLine,
      moments: accumulators.map((accumulator) => accumulator.moments()),
    }));
    return { scan, sensors };
  } catch (error) {
    if (error instanceof InvalidReadingsError) return undefined;
    throw error;
  } finally {
    closeSync(fd);
  }
}

parentPort?.postMessage(summarizeRange(workerData as RangeJob));
