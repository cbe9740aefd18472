import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/**
 * A larger readings file with the real distribution, for benchmarks: the case's rows
 * (data/collects.csv) written `scale` times. Copy k keeps every cell but three: `_id` is
 * fresh (unique over the whole file), and `createdAt` and `params.timeStart` move k file
 * spans later, so that copies follow each other in time as the real readings do.
 */

export interface ScaleOptions {
  /** The real file. */
  readonly source: string;
  readonly out: string;
  readonly scale: number;
}

/** Writes the file and returns its row count (header excluded). */
export function writeScaledCollects({ source, out, scale }: ScaleOptions): number {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
  const text = readFileSync(source, 'utf8');
  const lines = text.split(/\r?\n/);
  const header = lines.shift()!;
  const rows = lines.filter((line) => line !== '').map((line) => line.split(','));
  const columns = header.split(',');
  const idColumn = columnIndex(columns, '_id');
  const createdColumn = columnIndex(columns, 'createdAt');
  const timeStartColumn = columnIndex(columns, 'params.timeStart');
  if (rows.some((row) => row.length !== columns.length)) throw new Error(`${source}: expected ${columns.length} plain fields on every line`);

  const times = rows.map((row) => Date.parse(row[createdColumn]!));
  // Whole seconds, so that the epoch seconds of params.timeStart shift exactly.
  const spanSeconds = Math.floor((Math.max(...times) - Math.min(...times)) / 1000) + 1;

  const output = openSync(out, 'w');
  try {
    let pending = `${header}\n`;
    let written = 0;
    for (let copy = 0; copy < scale; copy++) {
      const shiftMs = copy * spanSeconds * 1000;
      rows.forEach((row, index) => {
        const cells = row.slice();
        const createdMs = times[index]! + shiftMs;
        cells[idColumn] = objectId(createdMs, copy, written);
        cells[createdColumn] = new Date(createdMs).toISOString();
        const timeStart = cells[timeStartColumn]!;
        if (timeStart !== '') cells[timeStartColumn] = shiftDecimal(timeStart, copy * spanSeconds);
        pending += `${cells.join(',')}\n`;
        written += 1;
        if (pending.length >= 1 << 20) {
          writeSync(output, pending);
          pending = '';
        }
      });
    }
    writeSync(output, pending);
    return written;
  } finally {
    closeSync(output);
  }
}

function columnIndex(columns: readonly string[], name: string): number {
  const index = columns.indexOf(name);
  if (index < 0) throw new Error(`no ${name} column`);
  return index;
}

/** MongoDB-style id: 4 bytes of seconds, the copy number, a 3-byte counter: unique per row. */
function objectId(timeMs: number, copy: number, counter: number): string {
  const seconds = Math.floor(timeMs / 1000).toString(16).padStart(8, '0');
  return `${seconds}${copy.toString(16).padStart(10, '0')}${(counter & 0xffffff).toString(16).padStart(6, '0')}`;
}

/** `value + seconds`, keeping the decimals as written (integer arithmetic on the digits). */
function shiftDecimal(value: string, seconds: number): string {
  const [whole, fraction] = value.split('.');
  const shifted = (BigInt(whole!) + BigInt(seconds)).toString();
  return fraction === undefined ? shifted : `${shifted}.${fraction}`;
}
