import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummary } from '../../application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';
import type { ParquetColumns, ParquetRowsReader } from './parquet-rows.reader';

export interface ParquetRangeJob extends ParquetColumns {
  /** The file as named in messages. */
  readonly path: string;
  /** The same file as DuckDB reads it (see globFreePath). */
  readonly readPath: string;
  /** Row ranges at row group boundaries, in file order, shared by every thread reading the file. */
  readonly ranges: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  /** Element 0: the index of the next range nobody has claimed (Atomics.add claims it). */
  readonly next: Int32Array;
}

/** An InvalidReadingsError's fields (plain data, to cross threads), with the index of the range that raised it. */
export interface ParquetRangeError {
  readonly index: number;
  readonly reason: string;
  readonly line?: number;
  readonly column?: string;
}

export interface ParquetRangeParts {
  readonly parts: Array<{ readonly index: number; readonly summary: Pick<ReadingsSummary, 'rows' | 'sensors'> }>;
  readonly error?: ParquetRangeError;
}

/**
 * What each thread reading a Parquet file does (this one and the workers): claims the next
 * unread range until none is left (or one is bad), summarising each apart, so that a thread
 * that starts late (a worker boots and loads DuckDB in tens of milliseconds) or runs slower
 * (a busy machine) reads fewer ranges, and all finish together. Rows are numbered from 1 in
 * the file.
 */
export class ParquetRangeSummarizer {
  constructor(private readonly reader: ParquetRowsReader) {}

  async summarize(job: ParquetRangeJob, onRows?: (rowsRead: number) => void): Promise<ParquetRangeParts> {
    const parts: Array<{ index: number; summary: Pick<ReadingsSummary, 'rows' | 'sensors'> }> = [];
    let rowsBefore = 0; // read by this thread in earlier ranges
    let index = Atomics.add(job.next, 0, 1);
    try {
      for (; index < job.ranges.length; index = Atomics.add(job.next, 0, 1)) {
        const { from, to } = job.ranges[index]!;
        const builder = new ReadingsSummaryBuilder(job.metrics.length);
        const before = rowsBefore;
        await this.reader.read(job, from, to, builder, onRows && ((rows) => onRows(before + rows)));
        parts.push({ index, summary: builder.build(0) });
        rowsBefore += to - from;
      }
      return { parts };
    } catch (error) {
      if (!(error instanceof InvalidReadingsError)) throw error;
      const { reason, line, column } = error;
      return { parts, error: { index, reason, ...(line !== undefined && { line }), ...(column !== undefined && { column }) } };
    }
  }
}
