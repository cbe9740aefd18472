import { readSync } from 'node:fs';
import { InvalidReadingsError } from '../../application/invalid-readings.error';

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;

/** pandas' default missing-value markers: the draft, which reads with pandas, skips these cells too. */
export const MISSING_MARKERS: ReadonlySet<string> = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null',
]);
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Powers of ten that are exact doubles: dividing an exact integer by one is correctly rounded. */
const EXACT_POWERS_OF_TEN = new Float64Array(Array.from({ length: 23 }, (_, exponent) => 10 ** exponent));
// While the digits make an integer below 2^53, every step of mantissa * 10 + digit is exact.
// From 2^53 up, a step may round (9007199254740993 becomes ...992), possibly down onto 2^53
// itself: so only a mantissa strictly below 2^53 is known to be exact.
const EXACT_INTEGER_LIMIT = 2 ** 53;

// What each field of a row is to the reader: a metric's slot (0, 1, ...), or one of these.
const SKIPPED = -1;
const SENSOR = -2;
const UTF8_BOM = [0xef, 0xbb, 0xbf];
/**
 * The longest record (a line, or the lines of one quoted field) read: a reading's line is about
 * 150 bytes. Without a bound, one huge field grew the buffer (and its string) until memory
 * ran out (a 200 MB field took 595 MB; /dev/zero never ended).
 */
export const MAX_RECORD_BYTES = 1024 * 1024;

/**
 * The first read of a scan is this small, so that the path for a line cut by the end of a
 * chunk runs (and gives V8 its feedback) before scan is optimised: met only after a full
 * chunk, it threw the optimised scan away in every thread, and scan was compiled again.
 */
const FIRST_READ_BYTES = 16 * 1024;

/** Where the columns are: the same for every range of one file, and cheap to send to a worker. */
export interface CsvHeader {
  readonly fieldCount: number;
  /** Per field: SKIPPED, SENSOR or the slot of a wanted metric. */
  readonly roles: Int8Array;
  /** Byte offset and line number of the first record after the header. */
  readonly dataStart: number;
  readonly dataLine: number;
}

export interface RangeScan {
  readonly rows: number;
  /** Lines consumed, blank ones included: the next range's first line is firstLine + lines. */
  readonly lines: number;
  /** A quote in the range means a split point may have fallen inside a quoted field. */
  readonly sawQuote: boolean;
}

export type RowVisitor = (sensorId: string, readings: Float64Array, line: number) => void;

/**
 * Reads RFC 4180 CSV (quoted fields, escaped quotes, CRLF or LF, optional final newline,
 * UTF-8 BOM) from an open file, in constant memory, any byte range at a time. It is
 * specialised for its one job: a line without quotes (nearly all of them) is read in one
 * pass over its bytes that also parses the wanted numbers, without building strings;
 * other lines take a general RFC 4180 path. Property tests hold it to csv-parse.
 */
export class CsvRangeScanner {
  // Fields of the last record read by the general path; grown for records with more fields.
  private fieldStarts = new Int32Array(64);
  private fieldEnds = new Int32Array(64);
  private fieldQuoted = new Uint8Array(64);
  private fieldCount = 0;
  private recordLines = 0;
  // The read buffer of scan, kept for the next range this scanner reads.
  private scanBuffer: Buffer | undefined;

  constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly metrics: readonly string[],
    private readonly sensorColumn: string,
    private readonly chunkBytes: number,
  ) {
    if (metrics.length > 30) throw new RangeError('at most 30 metric columns'); // one bit each in a mask
  }

  /** Finds the header (after a BOM and blank lines) and maps the wanted columns by name. */
  readHeader(): CsvHeader {
    let buffer: Buffer = Buffer.allocUnsafe(this.chunkBytes);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) buffer = this.grow(buffer, 1);
      const bytesRead = readSync(this.fd, buffer, filled, buffer.length - filled, filled);
      const atEnd = bytesRead === 0;
      filled += bytesRead;
      const view = buffer.subarray(0, filled);
      let position = UTF8_BOM.every((byte, index) => view[index] === byte) ? UTF8_BOM.length : 0;
      let line = 1;
      while (position < filled || atEnd) {
        const next = this.scanRecord(view, position, filled, atEnd, line);
        if (next < 0) break; // need more bytes
        if (position >= filled) throw new InvalidReadingsError(this.path, 'the file is empty: expected a header line', line);
        const recordLine = line;
        line += this.recordLines;
        position = next;
        if (!this.isBlank()) return { ...this.mapColumns(view, recordLine), dataStart: position, dataLine: line };
      }
    }
  }

  /**
   * Visits every row of `[from, to)`, which must start at a record boundary; `firstLine` is
   * the line number of `from`. Progress is reported as bytes of the range consumed.
   */
  scan(header: CsvHeader, from: number, to: number, firstLine: number, visit: RowVisitor, onProgress?: (bytes: number) => void): RangeScan {
    const slots = this.metrics.length;
    const readings = new Float64Array(slots);
    // [sensor start, sensor end, then start and end of each metric cell, the slow-cell mask, the field count]
    const bounds = new Int32Array(2 + 2 * slots + 2);
    let buffer: Buffer = (this.scanBuffer ??= Buffer.allocUnsafe(this.chunkBytes));
    let filled = 0; // bytes of buffer holding unread data
    let offset = from; // file offset of buffer[0]
    let atEnd = false;
    let line = firstLine;
    let rows = 0;
    let sawQuote = false;
    // The last sensor id read from plain bytes: rows of one sensor usually follow each other.
    let lastSensorBytes: Buffer | undefined;
    let lastSensorId = '';

    while (!atEnd) {
      if (filled === buffer.length) buffer = this.scanBuffer = this.grow(buffer, line); // one record longer than the buffer
      const wanted = Math.min(offset === from ? FIRST_READ_BYTES : buffer.length - filled, buffer.length - filled, to - offset - filled);
      const bytesRead = wanted > 0 ? readSync(this.fd, buffer, filled, wanted, offset + filled) : 0;
      atEnd = bytesRead === 0;
      filled += bytesRead;

      const view = buffer.subarray(0, filled); // indexOf must not see stale bytes past `filled`
      let position = 0;
      if (!sawQuote && view.indexOf(QUOTE) >= 0) sawQuote = true;
      // Every line up to the last newline read ends in a newline: the fast path, which stops
      // at any newline, never runs past it into bytes not read.
      const lastNewline = view.lastIndexOf(LF);
      const words = new DataView(buffer.buffer, buffer.byteOffset, filled);
      while (position < filled) {
        const recordLine = line;
        if (position <= lastNewline) {
          const first = view[position]!;
          if (first === LF || (first === CR && view[position + 1] === LF)) {
            line += 1; // a blank line
            position += first === LF ? 1 : 2;
            continue;
          }
          const lineEnd = readPlainLine(view, words, lastNewline, position, header.roles, readings, bounds);
          if (lineEnd >= 0) {
            // The common case: a whole line, no quotes.
            line += 1;
            const fields = bounds[bounds.length - 1]!;
            if (fields !== header.fieldCount) this.fieldCountError(header, fields, recordLine);
            for (let slow = bounds[bounds.length - 2]!, slot = 0; slow !== 0; slow >>>= 1, slot++) {
              if (slow & 1) readings[slot] = this.parseCell(view, bounds[2 + 2 * slot]!, bounds[3 + 2 * slot]!, false, recordLine, slot);
            }
            if (!lastSensorBytes || !sameBytes(view, bounds[0]!, bounds[1]!, lastSensorBytes)) {
              lastSensorBytes = Buffer.from(view.subarray(bounds[0], bounds[1]));
              lastSensorId = lastSensorBytes.toString('utf8');
            }
            rows += 1;
            visit(lastSensorId, readings, recordLine);
            position = lineEnd + 1;
            continue;
          }
        }

        const next = this.scanRecord(view, position, filled, atEnd, recordLine);
        if (next < 0) break; // the record continues in the next chunk
        line += this.recordLines;
        position = next;
        if (this.isBlank()) continue;
        if (this.fieldCount !== header.fieldCount) this.fieldCountError(header, this.fieldCount, recordLine);
        header.roles.forEach((role, field) => {
          if (role === SENSOR) lastSensorId = this.fieldText(view, field);
          else if (role >= 0) readings[role] = this.parseCell(view, this.fieldStarts[field]!, this.fieldEnds[field]!, this.fieldQuoted[field] === 1, recordLine, role);
        });
        lastSensorBytes = undefined;
        rows += 1;
        visit(lastSensorId, readings, recordLine);
      }
      buffer.copyWithin(0, position, filled);
      filled -= position;
      offset += position;
      onProgress?.(offset - from);
    }
    return { rows, lines: line - firstLine, sawQuote };
  }

  /**
   * The general RFC 4180 path: finds the bounds of the record starting at `start`. Returns
   * the offset after its line ending, or -1 when the record may continue past `end`.
   */
  private scanRecord(buffer: Buffer, start: number, end: number, atEnd: boolean, line: number): number {
    let position = start;
    let field = 0;
    let lines = 1;
    for (;;) {
      if (field === this.fieldStarts.length) this.growFields();
      if (position < end && buffer[position] === QUOTE) {
        // Quoted field: runs to the next quote not doubled; may hold commas and newlines.
        const contentStart = position + 1;
        let cursor = contentStart;
        for (;;) {
          const quote = buffer.indexOf(QUOTE, cursor);
          if (quote < 0) {
            if (!atEnd) return -1;
            throw new InvalidReadingsError(this.path, 'a quoted field is never closed', line);
          }
          if (quote + 1 < end && buffer[quote + 1] === QUOTE) {
            cursor = quote + 2;
            continue;
          }
          if (quote + 1 >= end && !atEnd) return -1; // is it "" split across chunks?
          lines += countNewlines(buffer, contentStart, quote);
          this.fieldStarts[field] = contentStart;
          this.fieldEnds[field] = quote;
          this.fieldQuoted[field] = 1;
          position = quote + 1;
          break;
        }
        if (position < end) {
          const after = buffer[position];
          if (after !== COMMA && after !== LF && after !== CR) {
            throw new InvalidReadingsError(this.path, 'unexpected text after a closing quote', line + lines - 1);
          }
        }
      } else {
        const fieldStart = position;
        while (position < end) {
          const byte = buffer[position]!;
          if (byte === COMMA || byte === LF || byte === CR) break;
          if (byte === QUOTE) throw new InvalidReadingsError(this.path, 'a quote inside an unquoted field', line + lines - 1);
          position++;
        }
        this.fieldStarts[field] = fieldStart;
        this.fieldEnds[field] = position;
        this.fieldQuoted[field] = 0;
      }
      field++;

      if (position >= end) {
        if (!atEnd) return -1;
        this.fieldCount = field;
        this.recordLines = lines;
        return position;
      }
      const separator = buffer[position];
      if (separator === COMMA) {
        position++;
        continue;
      }
      if (separator === CR) {
        if (position + 1 >= end && !atEnd) return -1;
        if (position + 1 < end && buffer[position + 1] === LF) position++;
      }
      this.fieldCount = field;
      this.recordLines = lines;
      return position + 1;
    }
  }

  /** A larger buffer for a record that does not fit, up to MAX_RECORD_BYTES. `line`: where the record starts. */
  private grow(buffer: Buffer, line: number): Buffer {
    if (buffer.length >= MAX_RECORD_BYTES) throw new InvalidReadingsError(this.path, `a line is longer than ${MAX_RECORD_BYTES} bytes (1 MiB), the most a record may take`, line);
    const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_RECORD_BYTES));
    buffer.copy(larger);
    return larger;
  }

  private isBlank(): boolean {
    return this.fieldCount === 1 && this.fieldEnds[0] === this.fieldStarts[0] && this.fieldQuoted[0] === 0;
  }

  private mapColumns(buffer: Buffer, line: number): Pick<CsvHeader, 'fieldCount' | 'roles'> {
    const names = Array.from({ length: this.fieldCount }, (_, field) => this.fieldText(buffer, field).trim());
    const wanted = [this.sensorColumn, ...this.metrics];
    const missing = wanted.filter((column) => !names.includes(column));
    if (missing.length > 0) {
      const listed = missing.map((column) => JSON.stringify(column)).join(', ');
      throw new InvalidReadingsError(this.path, `missing required column${missing.length > 1 ? 's' : ''} ${listed}`, line);
    }
    // Which of two same-named columns holds the readings is anyone's guess: refuse, rather than read the first.
    const twice = wanted.find((column) => names.indexOf(column) !== names.lastIndexOf(column));
    if (twice !== undefined) {
      throw new InvalidReadingsError(this.path, `column ${JSON.stringify(twice)} appears twice (fields ${names.indexOf(twice) + 1} and ${names.lastIndexOf(twice) + 1})`, line);
    }
    const roles = new Int8Array(names.length).fill(SKIPPED);
    roles[names.indexOf(this.sensorColumn)] = SENSOR;
    this.metrics.forEach((metric, slot) => (roles[names.indexOf(metric)] = slot));
    return { fieldCount: names.length, roles };
  }

  private fieldText(buffer: Buffer, field: number): string {
    const raw = buffer.toString('utf8', this.fieldStarts[field], this.fieldEnds[field]);
    return this.fieldQuoted[field] ? raw.replaceAll('""', '"') : raw;
  }

  /** The slow path for one cell: missing markers, exponents, long digit strings, quoted numbers, junk. */
  private parseCell(buffer: Buffer, start: number, end: number, quoted: boolean, line: number, slot: number): number {
    const raw = buffer.toString('utf8', start, end);
    const text = (quoted ? raw.replaceAll('""', '"') : raw).trim();
    if (MISSING_MARKERS.has(text)) return Number.NaN;
    const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(value)) {
      const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
      throw new InvalidReadingsError(this.path, `${JSON.stringify(shown)} is not a finite number`, line, this.metrics[slot]);
    }
    return value;
  }

  private fieldCountError(header: CsvHeader, found: number, line: number): never {
    throw new InvalidReadingsError(this.path, `expected ${header.fieldCount} fields, found ${found}`, line);
  }

  private growFields(): void {
    const size = this.fieldStarts.length * 2;
    this.fieldStarts = copyInto(new Int32Array(size), this.fieldStarts);
    this.fieldEnds = copyInto(new Int32Array(size), this.fieldEnds);
    this.fieldQuoted = copyInto(new Uint8Array(size), this.fieldQuoted);
  }
}

/**
 * One pass over the line starting at `start`, which must be followed, somewhere, by a
 * newline: finds the sensor id's bounds and parses every wanted metric cell into
 * `readings` (NaN if empty), without first looking for the line's end. A cell that is a
 * plain decimal whose digits make an integer below 2^53 is parsed from its bytes as exact
 * integer / 10^k (k <= 22): both exact doubles, so the quotient is correctly rounded, the
 * same double Number() gives. Any other cell is left for the slow path: its bit is set in
 * the mask stored in the last but one element of `bounds`; the field count goes in the
 * last. Returns the offset of the newline ending the line (after an optional CR), or -1
 * when the line holds a quote: the general RFC 4180 path reads it.
 *
 * Bytes above the comma (digits, letters, '-', '.', ':') are by far the most common: one
 * comparison lets them through, and only the rest are told apart; fields not parsed are
 * skipped four bytes at a time (`words`: the same bytes, up to the last newline read).
 */
function readPlainLine(
  buffer: Uint8Array,
  words: DataView,
  lastNewline: number,
  start: number,
  roles: Int8Array,
  readings: Float64Array,
  bounds: Int32Array,
): number {
  let position = start;
  let field = 0;
  let slow = 0;
  let byte: number;
  for (;;) {
    const role = field < roles.length ? roles[field]! : SKIPPED;
    const fieldStart = position;
    byte = buffer[position]!;
    if (role >= 0) {
      let mantissa = 0;
      let dot = -1;
      const sign = byte;
      if (sign === MINUS || sign === PLUS) byte = buffer[++position]!;
      const digitsStart = position;
      for (;;) {
        const digit = byte - ZERO;
        if (digit >= 0 && digit <= 9) mantissa = mantissa * 10 + digit;
        else if (byte === DOT && dot < 0) dot = position;
        else break;
        byte = buffer[++position]!;
      }
      const digitsEnd = position;
      let plain = true;
      if (byte === CR && buffer[position + 1] === LF) byte = buffer[++position]!; // the line's last cell, CRLF
      if (byte !== COMMA && byte !== LF) {
        plain = false; // an exponent, a second dot, a missing marker, spaces, junk: the slow path's
        position = skipField(buffer, position);
        if (position < 0) return -1;
        byte = buffer[position]!;
      }
      const fieldEnd = byte === LF && position > fieldStart && buffer[position - 1] === CR ? position - 1 : position;
      bounds[2 + 2 * role] = fieldStart;
      bounds[3 + 2 * role] = fieldEnd;
      const fractionDigits = dot < 0 ? 0 : digitsEnd - dot - 1;
      const digits = digitsEnd - digitsStart - (dot < 0 ? 0 : 1);
      if (fieldEnd === fieldStart) {
        readings[role] = Number.NaN;
      } else if (plain && digits > 0 && mantissa < EXACT_INTEGER_LIMIT && fractionDigits < EXACT_POWERS_OF_TEN.length) {
        const value = mantissa / EXACT_POWERS_OF_TEN[fractionDigits]!;
        readings[role] = sign === MINUS ? -value : value;
      } else {
        slow |= 1 << role;
      }
    } else {
      // Four bytes at a time while none is a comma or below (a newline, CR, quote...): the
      // word has no byte under 0x2d iff (word - 0x2d2d2d2d) & ~word & 0x80808080 is 0.
      while (position + 4 <= lastNewline && ((words.getInt32(position, true) - 0x2d2d2d2d) & ~words.getInt32(position, true) & 0x80808080) === 0) position += 4;
      byte = buffer[position]!;
      while (byte > COMMA) byte = buffer[++position]!;
      if (byte !== COMMA && byte !== LF) {
        position = skipField(buffer, position);
        if (position < 0) return -1;
        byte = buffer[position]!;
      }
      if (role === SENSOR) {
        bounds[0] = fieldStart;
        bounds[1] = byte === LF && position > fieldStart && buffer[position - 1] === CR ? position - 1 : position;
      }
    }
    field++;
    if (byte === LF) break;
    position++; // past the comma
  }
  bounds[bounds.length - 2] = slow;
  bounds[bounds.length - 1] = field;
  return position;
}

/**
 * From `position` in a field, the offset of the comma or newline ending it (a CR just
 * before the newline ends the field; any other CR is part of it), or -1 at a quote: the
 * line is the general path's.
 */
function skipField(buffer: Uint8Array, position: number): number {
  for (;;) {
    const byte = buffer[position]!;
    if (byte === COMMA || byte === LF) return position;
    if (byte === QUOTE) return -1;
    if (byte === CR && buffer[position + 1] === LF) return position + 1;
    position++;
  }
}

function sameBytes(buffer: Uint8Array, start: number, end: number, other: Buffer): boolean {
  if (end - start !== other.length) return false;
  for (let index = 0; index < other.length; index++) if (buffer[start + index] !== other[index]) return false;
  return true;
}

function countNewlines(buffer: Buffer, start: number, end: number): number {
  let count = 0;
  for (let position = buffer.indexOf(LF, start); position >= 0 && position < end; position = buffer.indexOf(LF, position + 1)) count++;
  return count;
}

function copyInto<T extends Int32Array | Uint8Array>(target: T, source: T): T {
  target.set(source);
  return target;
}
