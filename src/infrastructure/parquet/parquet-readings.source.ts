import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, statSync } from 'node:fs';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummary, SensorReadingsSource } from '../../application/ports/sensor-readings.source';
import { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';

export interface ParquetReadingsOptions {
  /** The column holding the sensor id. */
  readonly sensorColumn?: string;
  /** DuckDB's decoding threads; defaults to 2. */
  readonly threads?: number;
  /** Called after each chunk of rows with the rows read so far and the file's row count. */
  readonly onProgress?: (rowsRead: number, totalRows: number) => void;
}

// DuckDB's types a reading column may have: every one converts to a double as Number() would.
const NUMERIC_TYPES = /^(DOUBLE|FLOAT|REAL|DECIMAL\(\d+,\d+\)|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

/**
 * A Parquet file of readings, columns found by name, decoded by DuckDB (vectorised, its own
 * threads) and streamed to us 2,048 rows at a time, in file order: memory stays constant
 * whatever the file size. Every reading goes through the same ReadingsSummaryBuilder as the
 * CSV path, so the statistics are the same, bit for bit for the mean (an exact sum rounded
 * once). Rows are numbered from 1 in messages, in place of CSV lines.
 */
export class ParquetReadingsSource implements SensorReadingsSource {
  private readonly sensorColumn: string;

  constructor(
    private readonly path: string,
    readonly metrics: readonly string[],
    private readonly options: ParquetReadingsOptions = {},
  ) {
    this.sensorColumn = options.sensorColumn ?? 'sensorId';
  }

  get name(): string {
    return this.path;
  }

  async summarize(): Promise<ReadingsSummary> {
    if (!existsSync(this.path)) throw new InvalidReadingsError(this.path, 'no such file');
    const instance = await DuckDBInstance.create(':memory:', { threads: String(this.options.threads ?? 2) });
    const connection = await instance.connect();
    try {
      const totalRows = await this.checkSchema(connection);
      return await this.read(connection, totalRows);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  /** Every wanted column exists, readings are numeric; returns the row count (from the footer). */
  private async checkSchema(connection: DuckDBConnection): Promise<number> {
    const rows = await this.query(() =>
      connection.run(`SELECT name, type FROM parquet_schema(${sqlString(this.path)}) WHERE num_children IS NULL OR num_children = 0`),
    );
    const types = new Map<string, string>();
    for (const [name, type] of (await rows.getRows()) as Array<[string, string | null]>) types.set(name, type ?? '');
    const missing = [this.sensorColumn, ...this.metrics].filter((column) => !types.has(column));
    if (missing.length > 0) {
      throw new InvalidReadingsError(this.path, `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((column) => JSON.stringify(column)).join(', ')}`);
    }
    // parquet_schema gives the physical type; the logical one (a DECIMAL, say) comes from a typed query.
    const described = await this.query(() => connection.run(`DESCRIBE SELECT ${this.columnList()} FROM read_parquet(${sqlString(this.path)})`));
    for (const [name, type] of (await described.getRows()) as Array<[string, string]>) {
      if (name !== this.sensorColumn && !NUMERIC_TYPES.test(type)) throw new InvalidReadingsError(this.path, `holds ${type}, not numbers`, undefined, name);
    }
    const count = await this.query(() => connection.run(`SELECT sum(num_rows)::BIGINT FROM parquet_file_metadata(${sqlString(this.path)})`));
    return Number((await count.getRows())[0]?.[0] ?? 0);
  }

  private async read(connection: DuckDBConnection, totalRows: number): Promise<ReadingsSummary> {
    const metricCount = this.metrics.length;
    const casts = this.metrics.map((metric) => `CAST(${sqlName(metric)} AS DOUBLE)`).join(', ');
    const result = await this.query(() =>
      connection.stream(`SELECT CAST(${sqlName(this.sensorColumn)} AS VARCHAR), ${casts} FROM read_parquet(${sqlString(this.path)})`),
    );
    const builder = new ReadingsSummaryBuilder(metricCount);
    const readings = new Float64Array(metricCount);
    let row = 0;
    for (;;) {
      const chunk = await this.query(() => result.fetchChunk());
      const chunkRows = chunk?.rowCount ?? 0; // a call into DuckDB: read once per chunk
      if (!chunk || chunkRows === 0) break;
      const sensors = chunk.getColumnVector(0);
      const columns = Array.from({ length: metricCount }, (_, index) => chunk.getColumnVector(index + 1));
      for (let index = 0; index < chunkRows; index++) {
        row++;
        for (let metric = 0; metric < metricCount; metric++) {
          const value = columns[metric]!.getItem(index) as number | null;
          // Null and NaN are missing readings (skipped); an infinity is as wrong here as in a CSV.
          if (value === Infinity || value === -Infinity) throw new InvalidReadingsError(this.path, `${value} is not a finite number`, row, this.metrics[metric]);
          readings[metric] = value ?? Number.NaN;
        }
        builder.add((sensors.getItem(index) as string | null) ?? '', readings, row);
      }
      this.options.onProgress?.(row, totalRows);
    }
    return builder.build(statSync(this.path).size);
  }

  private columnList(): string {
    return [this.sensorColumn, ...this.metrics].map(sqlName).join(', ');
  }

  /** DuckDB's errors (a corrupt file, say) become one line naming the file. */
  private async query<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof InvalidReadingsError) throw error;
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
      throw new InvalidReadingsError(this.path, `not a readable Parquet file (${message})`);
    }
  }
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlName(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}
