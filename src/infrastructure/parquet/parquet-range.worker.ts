// A worker thread that summarises a range of row groups of a Parquet file (see ParquetReadingsSource).
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import type { Moments } from '../../domain/readings-accumulator';
import { ParquetRowsReader } from './parquet-rows.reader';

export interface ParquetRangeJob {
  readonly path: string;
  readonly metrics: readonly string[];
  readonly sensorColumn: string;
  readonly from: number;
  readonly to: number;
}

/** Rows are numbered from 1 in the file; `error` carries an InvalidReadingsError's fields across the thread. */
export interface ParquetRangeSummary {
  readonly rows?: number;
  readonly sensors?: Array<{ sensorId: string; firstLine: number; moments: Moments[] }>;
  readonly error?: { reason: string; line?: number; column?: string };
}

async function summarizeRange(job: ParquetRangeJob): Promise<ParquetRangeSummary> {
  const reader = await ParquetRowsReader.open(job.path, 1);
  const builder = new ReadingsSummaryBuilder(job.metrics.length);
  try {
    await reader.read(job.sensorColumn, job.metrics, job.from, job.to, builder);
    const summary = builder.build(0);
    const sensors = summary.sensors.map(({ sensorId, firstLine, accumulators }) => ({
      sensorId,
      firstLine,
      moments: accumulators.map((accumulator) => accumulator.moments()),
    }));
    return { rows: summary.rows, sensors };
  } catch (error) {
    if (!(error instanceof InvalidReadingsError)) throw error;
    return { error: { reason: error.reason, ...(error.line !== undefined && { line: error.line }), ...(error.column !== undefined && { column: error.column }) } };
  } finally {
    reader.close();
  }
}

void summarizeRange(workerData as ParquetRangeJob).then((summary) => parentPort?.postMessage(summary));
