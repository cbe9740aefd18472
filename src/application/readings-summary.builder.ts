import { ReadingsAccumulator } from '../domain/readings-accumulator';
import type { ReadingsSummary, SensorReadings } from './ports/sensor-readings.source';

/** Accumulates rows into per-sensor, per-metric accumulators, keeping first-appearance order. */
export class ReadingsSummaryBuilder {
  private readonly sensors = new Map<string, SensorReadings>();
  private current: SensorReadings | undefined;
  private rows = 0;

  constructor(private readonly metricCount: number) {}

  /** `readings` holds one value per metric, NaN where missing. */
  add(sensorId: string, readings: ArrayLike<number>, line: number): void {
    const accumulators = this.sensor(sensorId, line).accumulators;
    for (let metric = 0; metric < accumulators.length; metric++) accumulators[metric]!.add(readings[metric]!);
    this.rows++;
  }

  /**
   * Adds rows `[start, end)` of one sensor given column by column (`columns[metric][row]`,
   * NaN where missing), the first of them at `line`. Each accumulator gets its readings in
   * row order, as from `add`: the same statistics, with one tight loop per column.
   */
  addColumns(sensorId: string, columns: readonly Float64Array[], start: number, end: number, line: number): void {
    if (end <= start) return;
    const accumulators = this.sensor(sensorId, line).accumulators;
    for (let metric = 0; metric < accumulators.length; metric++) accumulators[metric]!.addAll(columns[metric]!, start, end);
    this.rows += end - start;
  }

  private sensor(sensorId: string, line: number): SensorReadings {
    // Rows usually come grouped by sensor: most rows skip the map lookup.
    let current = this.current;
    if (current?.sensorId !== sensorId) {
      current = this.sensors.get(sensorId);
      if (!current) {
        current = { sensorId, firstLine: line, accumulators: Array.from({ length: this.metricCount }, () => new ReadingsAccumulator()) };
        this.sensors.set(sensorId, current);
      }
      this.current = current;
    }
    return current;
  }

  /** Adds what a pass over a later part of the same table learned. */
  merge(part: Pick<ReadingsSummary, 'rows' | 'sensors'>): void {
    for (const sensor of part.sensors) {
      const known = this.sensors.get(sensor.sensorId);
      if (known) known.accumulators.forEach((accumulator, metric) => accumulator.merge(sensor.accumulators[metric]!));
      else this.sensors.set(sensor.sensorId, sensor);
    }
    this.rows += part.rows;
    this.current = undefined;
  }

  build(bytes: number): ReadingsSummary {
    return { rows: this.rows, bytes, sensors: [...this.sensors.values()] };
  }
}
