import type { ReadingsAccumulator } from '../../domain/readings-accumulator';

/** What a pass over the data learned about one sensor. */
export interface SensorReadings {
  readonly sensorId: string;
  /** The line of the sensor's first row, for messages. */
  readonly firstLine: number;
  /** One per metric, in the order of `SensorReadingsSource.metrics`. */
  readonly accumulators: readonly ReadingsAccumulator[];
}

export interface ReadingsSummary {
  readonly rows: number;
  readonly bytes: number;
  /** In order of first appearance. */
  readonly sensors: readonly SensorReadings[];
}

/** A table of readings, one row per (sensor, moment). */
export interface SensorReadingsSource {
  /** For messages: a file path, say. */
  readonly name: string;
  readonly metrics: readonly string[];
  /**
   * One pass over the data that accumulates every (sensor, metric)'s readings, skipping
   * missing ones; an adapter may split the pass across threads and merge. Rejects with an
   * InvalidReadingsError naming line and column when the data is malformed.
   */
  summarize(): Promise<ReadingsSummary>;
}
