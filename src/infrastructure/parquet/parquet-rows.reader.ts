import { DuckDBInstance, type DuckDBConnection, type DuckDBDataChunk, type DuckDBVector } from '@duckdb/node-api';
// The C API beneath @duckdb/node-api (the version it pins), for a vector's memory as a typed array.
import duckdb from '@duckdb/node-bindings';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import type { ReadingsSummaryBuilder } from '../../application/readings-summary.builder';

// DuckDB's types a reading column may have.
const NUMERIC_TYPES = /^(DOUBLE|FLOAT|REAL|DECIMAL\(\d+,\d+\)|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
// A list, struct, map or union: not one value per row (a scalar sensor id of any type is read as its text).
const NESTED_TYPE = /\[\d*\]$|^(STRUCT|MAP|UNION)\(/;
const DECIMAL_TYPE = /^DECIMAL\((\d+),(\d+)\)$/;
// DuckDB casts a DECIMAL to DOUBLE as its unscaled integer over 10^scale: the nearest double
// while both are exact doubles (the integer below 2^53, the scale at most 22), which a width
// of 15 digits guarantees. Beyond, the integer may round first (DECIMAL(18,17)
// 1.26499776001523591 gave 1.2649977600152358, not ...236), unless the row groups'
// statistics bound it.
const EXACT_DECIMAL_DIGITS = 15;
const EXACT_POWER_OF_TEN_MAX = 22;
const EXACT_UNSCALED_BOUND = 2 ** 52; // below 2^53, with room for the statistics' own rounding

/** The columns a read takes: `decimalText[i]` says metric i is a wide DECIMAL, read as text (see checkSchema). */
export interface ParquetColumns {
  readonly sensorColumn: string;
  readonly metrics: readonly string[];
  readonly decimalText: readonly boolean[];
}

/**
 * Rows of a Parquet file decoded by DuckDB and streamed to this thread 2,048 at a time, in
 * file order (constant memory). A range of rows reads only the row groups it overlaps (DuckDB
 * prunes them by file_row_number). DuckDB decodes one chunk ahead, on its own thread, while
 * this thread sums the last. DuckDB's errors (a corrupt file, say) become one line naming the
 * file.
 */
export class ParquetRowsReader {
  private constructor(
    private readonly path: string,
    private readonly readPath: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** `path` names the file in messages; DuckDB reads `readPath` (see globFreePath). */
  static async open(path: string, readPath: string, threads: number): Promise<ParquetRowsReader> {
    const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    return new ParquetRowsReader(path, readPath, instance, await instance.connect());
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /**
   * Every wanted column exists and readings are numeric; returns where each row group starts,
   * the row count, and which metrics are DECIMALs that DuckDB's cast might not round to the
   * nearest double: those are read as their text and parsed by Number(), as CSV cells are.
   */
  async checkSchema(sensorColumn: string, metrics: readonly string[]): Promise<{ groupStarts: number[]; rows: number; decimalText: boolean[] }> {
    // The file's own columns, names as written (a query would bind "sensorid" to sensorId), with their logical types.
    const types = new Map(await this.rows<[string, string]>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(this.readPath)})`));
    const missing = [sensorColumn, ...metrics].filter((column) => !types.has(column));
    if (missing.length > 0) {
      throw new InvalidReadingsError(this.path, `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((column) => JSON.stringify(column)).join(', ')}`);
    }
    const sensorType = types.get(sensorColumn)!;
    if (NESTED_TYPE.test(sensorType)) throw new InvalidReadingsError(this.path, `holds ${sensorType}, not sensor ids`, undefined, sensorColumn);
    const decimalText = metrics.map(() => false);
    for (const [index, name] of metrics.entries()) {
      const type = types.get(name)!;
      if (!NUMERIC_TYPES.test(type)) throw new InvalidReadingsError(this.path, `holds ${type}, not numbers`, undefined, name);
      const decimal = DECIMAL_TYPE.exec(type);
      if (decimal) decimalText[index] = !(await this.decimalCastIsExact(name, Number(decimal[1]), Number(decimal[2])));
    }
    const groups = await this.rows<[bigint, bigint]>(
      `SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(${sqlString(this.readPath)}) GROUP BY row_group_id ORDER BY row_group_id`,
    );
    const groupStarts: number[] = [];
    let rows = 0;
    for (const [, count] of groups) {
      groupStarts.push(rows);
      rows += Number(count);
    }
    return { groupStarts, rows, decimalText };
  }

  /**
   * Adds rows [from, to) to `builder`, numbering them from `from + 1`. Null and NaN readings
   * are missing (skipped); an infinity is refused, as in a CSV.
   *
   * Each chunk is read column by column, not cell by cell: a reading column's doubles are
   * read in place in DuckDB's vector (copied only to set its nulls to NaN),
   * and the sensor column is cut into runs of one sensor, comparing each row's raw 16-byte
   * string entry with the previous row's and decoding a string only where they differ. Each
   * run goes to the builder as columns, so every accumulator still sees its readings in row
   * order: the statistics are those of the row-by-row path.
   */
  async read({ sensorColumn, metrics, decimalText }: ParquetColumns, from: number, to: number, builder: ReadingsSummaryBuilder, onRows?: (rowsRead: number) => void): Promise<void> {
    const metricCount = metrics.length;
    const casts = metrics.map((metric, index) => `CAST(${sqlName(metric)} AS ${decimalText[index] ? 'VARCHAR' : 'DOUBLE'})`).join(', ');
    const result = await this.query(() =>
      this.connection.stream(
        `SELECT CAST(${sqlName(sensorColumn)} AS VARCHAR), ${casts} FROM read_parquet(${sqlString(this.readPath)}, file_row_number = true) ` +
          `WHERE file_row_number >= ${from} AND file_row_number < ${to}`,
      ),
    );
    const copies = Array.from({ length: metricCount }, () => new Float64Array(duckdb.vector_size()));
    const columns: Float64Array[] = [];
    let row = from; // rows read before this chunk
    // One chunk ahead: DuckDB decodes the next chunk on its own thread while this thread sums this one.
    let next: Promise<DuckDBDataChunk | null> | undefined = this.query(() => result.fetchChunk());
    try {
      for (;;) {
        const chunk = await next;
        next = undefined;
        const chunkRows = chunk?.rowCount ?? 0; // a call into DuckDB: read once per chunk
        if (!chunk || chunkRows === 0) break;
        next = this.query(() => result.fetchChunk());
        if (chunkRows > copies[0]!.length) copies.forEach((_, metric) => (copies[metric] = new Float64Array(chunkRows)));
        for (let metric = 0; metric < metricCount; metric++) {
          columns[metric] = decimalText[metric]
            ? decimalsOf(chunk.getColumnVector(metric + 1), chunkRows, copies[metric]!)
            : readingsOf(chunk.chunk, metric + 1, chunkRows, copies[metric]!);
        }
        const infinite = firstInfinity(columns, chunkRows);
        if (infinite) {
          const value = columns[infinite.metric]![infinite.index]!;
          throw new InvalidReadingsError(this.path, `${value} is not a finite number`, row + infinite.index + 1, metrics[infinite.metric]);
        }
        const runs = new SensorRuns(chunk.chunk, chunk.getColumnVector(0), chunkRows);
        for (let start = 0; start < chunkRows; ) {
          const sensorId = runs.sensorAt(start);
          const end = runs.runEnd(start, sensorId);
          builder.addColumns(sensorId, columns, start, end, row + start + 1);
          start = end;
        }
        row += chunkRows;
        onRows?.(row - from);
      }
    } finally {
      // A fetch still running must end before the caller closes the connection under it.
      await next?.catch(() => undefined);
    }
  }

  /** Whether DuckDB's cast of a DECIMAL(width, scale) column gives the nearest double of every value (see EXACT_DECIMAL_DIGITS). */
  private async decimalCastIsExact(column: string, width: number, scale: number): Promise<boolean> {
    if (width <= EXACT_DECIMAL_DIGITS) return true;
    if (scale > EXACT_POWER_OF_TEN_MAX) return false;
    const bounds = `greatest(abs(TRY_CAST(stats_min_value AS DOUBLE)), abs(TRY_CAST(stats_max_value AS DOUBLE)))`;
    const [[groups, unbounded, largest]] = (await this.rows<[bigint, bigint, number | null]>(
      `SELECT count(*), count(*) FILTER (${bounds} IS NULL), max(${bounds}) FROM parquet_metadata(${sqlString(this.readPath)}) WHERE path_in_schema = ${sqlString(column)}`,
    )) as [[bigint, bigint, number | null]];
    return groups > 0n && unbounded === 0n && largest !== null && largest * 10 ** scale < EXACT_UNSCALED_BOUND;
  }

  /** How many distinct sensor ids the first `sample` rows hold. */
  async sensorsNear(sensorColumn: string, sample: number): Promise<number> {
    const [row] = await this.rows<[bigint]>(
      `SELECT count(DISTINCT ${sqlName(sensorColumn)}) FROM read_parquet(${sqlString(this.readPath)}, file_row_number = true) WHERE file_row_number < ${sample}`,
    );
    return Number(row?.[0] ?? 0);
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

/**
 * A chunk's column of `rows` doubles: a view of DuckDB's vector when no row is null, else a
 * copy in `spare` with NaN (missing) where the validity mask says null (DuckDB leaves a null's
 * slot undefined). The view lives as long as the chunk.
 */
function readingsOf(chunk: duckdb.DataChunk, columnIndex: number, rows: number, spare: Float64Array): Float64Array {
  const vector = duckdb.data_chunk_get_vector(chunk, columnIndex);
  const data = duckdb.vector_get_data(vector, rows * Float64Array.BYTES_PER_ELEMENT);
  const readings = new Float64Array(data.buffer, data.byteOffset, rows);
  // One bit per row, least significant first; no mask at all when no row is null.
  const validity = duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8) as Uint8Array | null;
  if (!validity) return readings;
  spare.set(readings);
  for (let byte = 0, bytes = Math.ceil(rows / 8); byte < bytes; byte++) {
    const bits = validity[byte]!;
    if (bits === 0xff) continue;
    for (let bit = 0; bit < 8; bit++) {
      const index = byte * 8 + bit;
      if ((bits & (1 << bit)) === 0 && index < rows) spare[index] = Number.NaN;
    }
  }
  return spare;
}

/** A chunk's column of `rows` decimals as text, parsed into `target` as the CSV path parses a cell (null: NaN, missing). */
function decimalsOf(texts: DuckDBVector, rows: number, target: Float64Array): Float64Array {
  for (let row = 0; row < rows; row++) {
    const text = texts.getItem(row) as string | null;
    target[row] = text === null ? Number.NaN : Number(text);
  }
  return target;
}

/** The first infinite reading in row order (then column order), as the row-by-row path would meet it. */
function firstInfinity(columns: readonly Float64Array[], rows: number): { index: number; metric: number } | undefined {
  let found: { index: number; metric: number } | undefined;
  let limit = rows;
  for (let metric = 0; metric < columns.length; metric++) {
    const column = columns[metric]!;
    for (let index = 0; index < limit; index++) {
      if (Math.abs(column[index]!) === Infinity) {
        found = { index, metric };
        limit = index;
        break;
      }
    }
  }
  return found;
}

/**
 * The sensor column of one chunk as runs of equal ids. A VARCHAR entry is 16 bytes (length,
 * then the string inline or a prefix and a pointer into the chunk): equal entries hold equal
 * strings, so a row whose entry equals the previous one's continues the run without being
 * decoded. Entries that differ are decoded and compared as strings (two copies of one id
 * may sit at different addresses). With any null id in the chunk, every row is decoded.
 */
class SensorRuns {
  private readonly words: Int32Array;
  private readonly hasNulls: boolean;

  constructor(
    chunk: duckdb.DataChunk,
    private readonly strings: DuckDBVector,
    rows: number,
  ) {
    const vector = duckdb.data_chunk_get_vector(chunk, 0);
    const data = duckdb.vector_get_data(vector, rows * 16);
    this.words = new Int32Array(data.buffer, data.byteOffset, rows * 4);
    this.hasNulls = (duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8) as Uint8Array | null) !== null;
  }

  /** The id of `row`; a null id is the empty string, as in a CSV. */
  sensorAt(row: number): string {
    return (this.strings.getItem(row) as string | null) ?? '';
  }

  /** Where the run of `sensorId` that starts at `start` ends (exclusive). */
  runEnd(start: number, sensorId: string): number {
    const words = this.words;
    const rows = words.length / 4;
    for (let row = start + 1; row < rows; row++) {
      const at = 4 * row;
      const same =
        !this.hasNulls && words[at] === words[at - 4] && words[at + 1] === words[at - 3] && words[at + 2] === words[at - 2] && words[at + 3] === words[at - 1];
      if (!same && this.sensorAt(row) !== sensorId) return row;
    }
    return rows;
  }
}
