// A worker thread that summarises ranges of row groups of a Parquet file (see ParquetReadingsSource).
import { parentPort, workerData } from 'node:worker_threads';
import type { Moments } from '../../domain/readings-accumulator';
import { ParquetRangeSummarizer, type ParquetRangeError, type ParquetRangeJob } from './parquet-range.summarizer';
import { ParquetRowsReader } from './parquet-rows.reader';

/** What a worker posts back: its ranges' summaries as moments (plain data), and the error that stopped it, if any. */
export interface ParquetWorkerOutcome {
  readonly parts: Array<{ index: number; rows: number; sensors: Array<{ sensorId: string; firstLine: number; moments: Moments[] }> }>;
  readonly error?: ParquetRangeError;
}

async function run(job: ParquetRangeJob): Promise<ParquetWorkerOutcome> {
  const reader = await ParquetRowsReader.open(job.path, job.readPath, 1);
  try {
    const { parts, error } = await new ParquetRangeSummarizer(reader).summarize(job);
    return {
      parts: parts.map(({ index, summary }) => ({
        index,
        rows: summary.rows,
        sensors: summary.sensors.map(({ sensorId, firstLine, accumulators }) => ({
          sensorId,
          firstLine,
          moments: accumulators.map((accumulator) => accumulator.moments()),
        })),
      })),
      ...(error && { error }),
    };
  } finally {
    reader.close();
  }
}

void run(workerData as ParquetRangeJob).then((outcome) => parentPort?.postMessage(outcome));
