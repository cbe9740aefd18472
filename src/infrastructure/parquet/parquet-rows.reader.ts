import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';

// DuckDB's types a reading column may have: every one converts to a double as Number() would.
const NUMERIC_TYPES = /^(DOUBLE|FLOAT|REAL|DECIMAL\(\d+,\d+\)|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

/**
 * Rows of a Parquet file decoded by DuckDB and streamed to this thread 2,048 at a time, in
 * file order (constant memory). A range of rows reads only the row groups it overlaps (DuckDB
 * prunes them by file_row_number). DuckDB's errors (a corrupt file, say) become one line
 * naming the file.
 */
export class ParquetRowsReader {
  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(path: string, threads: number): Promise<ParquetRowsReader> {
    const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    return new ParquetRowsReader(path, instance, await instance.connect());
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Every wanted column exists and readings are numeric; returns where each row group starts, and the row count. */
  async checkSchema(sensorColumn: string, metrics: readonly string[]): Promise<{ groupStarts: number[]; rows: number }> {
    const leaves = await this.rows<[string]>(`SELECT name FROM parquet_schema(${sqlString(this.path)}) WHERE num_children IS NULL OR num_children = 0`);
    const names = new Set(leaves.map(([name]) => name));
    const missing = [sensorColumn, ...metrics].filter((column) => !names.has(column));
    if (missing.length > 0) {
      throw new InvalidReadingsError(this.path, `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((column) => JSON.stringify(column)).join(', ')}`);
    }
    // parquet_schema gives the physical type; the logical one (a DECIMAL, say) comes from a typed query.
    const columns = [sensorColumn, ...metrics].map(sqlName).join(', ');
    for (const [name, type] of await this.rows<[string, string]>(`DESCRIBE SELECT ${columns} FROM read_parquet(${sqlString(this.path)})`)) {
      if (name !== sensorColumn && !NUMERIC_TYPES.test(type)) throw new InvalidReadingsError(this.path, `holds ${type}, not numbers`, undefined, name);
    }
    const groups = await this.rows<[bigint, bigint]>(
      `SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(${sqlString(this.path)}) GROUP BY row_group_id ORDER BY row_group_id`,
    );
    const groupStarts: number[] = [];
    let rows = 0;
    for (const [, count] of groups) {
      groupStarts.push(rows);
      rows += Number(count);
    }
    return { groupStarts, rows };
  }

  /**
   * Adds rows [from, to) to `builder`, numbering them from `from + 1`. Null and NaN readings
   * are missing (skipped); an infinity is refused, as in a CSV.
   */
  async read(
    sensorColumn: string,
    metrics: readonly string[],
    from: number,
    to: number,
    builder: ReadingsSummaryBuilder,
    onRows?: (rowsRead: number) => void,
  ): Promise<void> {
    const metricCount = metrics.length;
    const casts = metrics.map((metric) => `CAST(${sqlName(metric)} AS DOUBLE)`).join(', ');
    const result = await this.query(() =>
      this.connection.stream(
        `SELECT CAST(${sqlName(sensorColumn)} AS VARCHAR), ${casts} FROM read_parquet(${sqlString(this.path)}, file_row_number = true) ` +
          `WHERE file_row_number >= ${from} AND file_row_number < ${to}`,
      ),
    );
    const readings = new Float64Array(metricCount);
    let row = from;
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
          if (value === Infinity || value === -Infinity) throw new InvalidReadingsError(this.path, `${value} is not a finite number`, row, metrics[metric]);
          readings[metric] = value ?? Number.NaN;
        }
        builder.add((sensors.getItem(index) as string | null) ?? '', readings, row);
      }
      onRows?.(row - from);
    }
  }

  private async rows<T>(sql: string): Promise<T[]> {
    const result = await this.query(() => this.connection.run(sql));
    return (await result.getRows()) as T[];
  }

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
