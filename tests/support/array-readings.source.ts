import { InvalidReadingsError } from '../../src/application/invalid-readings.error';
import type { ReadingsSummary, SensorReadingsSource } from '../../src/application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../src/application/readings-summary.builder';

/** An in-memory table of rows for use-case tests; line numbers start at 2, after a header. */
export class ArrayReadingsSource implements SensorReadingsSource {
  readonly name = 'memory.csv';

  constructor(
    readonly metrics: readonly string[],
    private readonly rows: ReadonlyArray<readonly [string, ...Array<number | null>]>,
    private readonly failAtRow?: number,
  ) {}

  async summarize(): Promise<ReadingsSummary> {
    const builder = new ReadingsSummaryBuilder(this.metrics.length);
    this.rows.forEach(([sensorId, ...values], index) => {
      if (index === this.failAtRow) throw new InvalidReadingsError(this.name, 'broken row', index + 2, this.metrics[0]);
      builder.add(sensorId, values.map((value) => value ?? Number.NaN), index + 2);
    });
    return builder.build(0);
  }
}
