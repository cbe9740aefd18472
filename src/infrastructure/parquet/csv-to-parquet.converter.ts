import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { InvalidReadingsError } from '../../application/invalid-readings.error';
import { DECIMAL, MISSING_MARKERS } from '../csv/csv-range.scanner';
import { CsvReadingsSource } from '../csv/csv-readings.source';
import { globFreePath } from '../duckdb/glob-free-path';
import { checkUnchanged } from '../file-unchanged';

export interface ConversionSummary {
  readonly rows: number;
  readonly csvBytes: number;
  readonly parquetBytes: number;
}

/**
 * Rewrites a readings CSV as Parquet with DuckDB, streaming (its COPY reads and writes row
 * group by row group, so a file larger than memory converts), once the trainer's reader has
 * accepted the file (so convert refuses what train refuses, naming the line): the reading columns become
 * doubles, read as the trainer reads them (pandas' missing markers become nulls, anything
 * else that is not a plain decimal stops the conversion naming the column), and every other
 * column stays a string, exactly as written. zstd-compressed. The output appears only
 * when complete.
 */
export class CsvToParquetConverter {
  constructor(
    private readonly metrics: readonly string[],
    private readonly sensorColumn = 'sensorId',
  ) {}

  async convert(csvPath: string, parquetPath: string): Promise<ConversionSummary> {
    if (!existsSync(csvPath)) throw new InvalidReadingsError(csvPath, 'no such file');
    const before = statSync(csvPath);
    // The trainer's own reader first (~1 s per 500 MB, against ~25 s for the conversion): a
    // file it refuses (a row of the wrong length, a bad cell, an empty file) is refused here
    // in its words, with the line, before DuckDB's sniffer can misread it or answer in its own.
    await new CsvReadingsSource(csvPath, this.metrics, { sensorColumn: this.sensorColumn }).summarize();
    const partial = `${parquetPath}.partial`;
    // Written there first, replacing what is there: a folder (or such) of that name is in the way.
    if (statSync(partial, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidReadingsError(parquetPath, `cannot write it: ${partial}, where it is written first, is a folder`);
    const readable = globFreePath(csvPath);
    const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '512MB' });
    const connection = await instance.connect();
    try {
      const source = `read_csv(${sqlString(readable.path)}, header = true, all_varchar = true, auto_detect = true)`;
      const columns = await this.columns(connection, csvPath, source);
      const header = await this.headerNames(connection, csvPath, readable.path);
      const clash = nameClash(header);
      if (clash) {
        const [first, second] = clash.map((name) => JSON.stringify(name));
        const what = first === second ? `column ${first} appears twice` : `columns ${first} and ${second} differ only in case or surrounding spaces`;
        throw new InvalidReadingsError(csvPath, `${what}: DuckDB, which writes the Parquet file, cannot keep them apart (it would rename the second); rename one, or train the CSV itself`);
      }
      // Anything else DuckDB would not write as the trainer reads it (an empty name it makes up is fine).
      const renamed = header.findIndex((name, index) => name.trim() !== '' && columns[index] !== name.trim());
      if (renamed >= 0) {
        throw new InvalidReadingsError(csvPath, `column ${renamed + 1} ${JSON.stringify(header[renamed])} would be written as ${JSON.stringify(columns[renamed])} by DuckDB, which writes the Parquet file: rename it, or train the CSV itself`);
      }
      const missing = [this.sensorColumn, ...this.metrics].filter((column) => !columns.includes(column));
      if (missing.length > 0) {
        throw new InvalidReadingsError(csvPath, `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((column) => JSON.stringify(column)).join(', ')}`);
      }
      const select = columns.map((column) => (this.metrics.includes(column) ? `${this.reading(column)} AS ${sqlName(column)}` : sqlName(column))).join(', ');
      const copied = await run(
        csvPath,
        () => connection.run(`COPY (SELECT ${select} FROM ${source}) TO ${sqlString(partial)} (FORMAT parquet, COMPRESSION zstd)`),
        { partial, parquetPath },
      );
      const rows = Number(copied.rowsChanged);
      // Read twice (ours, then DuckDB's): both must have read the same file.
      checkUnchanged(csvPath, before);
      try {
        renameSync(partial, parquetPath);
      } catch (error) {
        // Named by the output: the input was read to the end.
        throw new InvalidReadingsError(parquetPath, `cannot write it (${(error as Error).message})`);
      }
      return { rows, csvBytes: before.size, parquetBytes: statSync(parquetPath).size };
    } catch (error) {
      // DuckDB's reading failed or differed: because the file changed meanwhile, if it did.
      if (error instanceof InvalidReadingsError && error.source === csvPath) checkUnchanged(csvPath, before);
      throw error;
    } finally {
      connection.closeSync();
      instance.closeSync();
      rmSync(partial, { force: true });
      readable.release();
    }
  }

  private async columns(connection: DuckDBConnection, csvPath: string, source: string): Promise<string[]> {
    const described = await run(csvPath, () => connection.run(`DESCRIBE SELECT * FROM ${source}`));
    return ((await described.getRows()) as Array<[string, ...unknown[]]>).map(([name]) => name);
  }

  /** The header's names as written: DuckDB's column names are case-insensitive, and it renames a second one that differs only in case. */
  private async headerNames(connection: DuckDBConnection, csvPath: string, readPath: string): Promise<string[]> {
    const first = await run(csvPath, () => connection.run(`SELECT * FROM read_csv(${sqlString(readPath)}, header = false, all_varchar = true, auto_detect = true) LIMIT 1`));
    return ((await first.getRows()) as Array<Array<string | null>>)[0]?.map((name) => name ?? '') ?? [];
  }

  /**
   * A reading cell as the trainer reads it: trimmed as String.prototype.trim does (JavaScript's
   * white space and line terminators), then a missing marker is null, a plain finite decimal
   * its double.
   */
  private reading(column: string): string {
    const raw = sqlName(column);
    const cell = `regexp_replace(${raw}, ${sqlString(`^[${JS_WHITE_SPACE}]+|[${JS_WHITE_SPACE}]+$`)}, '', 'g')`;
    const markers = [...MISSING_MARKERS].map(sqlString).join(', ');
    const complaint = sqlString(`column ${JSON.stringify(column)}: `);
    return (
      `CASE WHEN ${raw} IS NULL OR ${cell} IN (${markers}) THEN NULL ` +
      `WHEN regexp_full_match(${cell}, ${sqlString(DECIMAL.source)}) AND isfinite(CAST(${cell} AS DOUBLE)) THEN CAST(${cell} AS DOUBLE) ` +
      `ELSE error(${complaint} || '"' || ${cell} || '" is not a finite number') END`
    );
  }
}

/** What String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), as an RE2 character class body. */
const JS_WHITE_SPACE = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';

/**
 * DuckDB's errors become one line naming the file (and the column, when our check raised it);
 * one naming the file being written (`output.partial`: a full disk, say) names the output.
 */
async function run<T>(csvPath: string, step: () => Promise<T>, output?: { partial: string; parquetPath: string }): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const fullMessage = error instanceof Error ? error.message : String(error);
    const message = fullMessage.split('\n')[0]!;
    if (output && message.includes(output.partial)) throw new InvalidReadingsError(output.parquetPath, `cannot write it (${message})`);
    if (fullMessage.includes('Invalid unicode')) {
      // Our reader decodes only the columns it reads; DuckDB's refuses any byte that is not UTF-8.
      const line = /CSV Error on Line: (\d+)/.exec(message)?.[1];
      throw new InvalidReadingsError(
        csvPath,
        "cannot convert: the line holds bytes that are not UTF-8, in a column the trainer does not read, and DuckDB's CSV reader, which writes the Parquet file, reads UTF-8 only. Re-encode the file as UTF-8 (e.g. iconv -f WINDOWS-1252 -t UTF-8), or train the CSV itself",
        line === undefined ? undefined : Number(line),
      );
    }
    const ours = /column ".*" is not a finite number/.exec(message);
    // The trainer's reader has accepted the file by now: what DuckDB's refuses is its own limit.
    throw new InvalidReadingsError(
      csvPath,
      ours
        ? ours[0]
        : `cannot convert: the trainer reads this CSV, but DuckDB's CSV reader, which writes the Parquet file, does not (${message}); ` +
            'known causes are lines ending in CRLF and in LF in one file, a stray CR in a cell, and a second BOM. Train the CSV itself, or rewrite it with one kind of line ending',
    );
  }
}

/** Two names that are equal but for ASCII case (as DuckDB compares identifiers) and surrounding spaces (which it trims), if any. */
function nameClash(names: readonly string[]): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const name of names) {
    if (name.trim() === '') continue; // DuckDB makes one up
    const folded = name.trim().replace(/[A-Z]/g, (letter) => letter.toLowerCase());
    const earlier = seen.get(folded);
    if (earlier !== undefined) return [earlier, name];
    seen.set(folded, name);
  }
  return undefined;
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlName(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}
