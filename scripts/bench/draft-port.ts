// REFERENCE ONLY: a faithful TypeScript port of the case's slow prototype (src/draft.py),
// kept as the benchmark baseline and as the test oracle for the trainer. Do not optimise it.
//
// Like the draft it loads the whole table first (pandas' read_csv; here csv-parse, as
// columns), finds distinct sensors with a list-membership test per row (quadratic), filters
// the whole table once per sensor, and sums in plain loops, skipping missing cells. Its
// memory grows with the file, as the draft's does.
//
// Usage: node dist/scripts/bench/draft-port.js FILE [VALUE]  -> {"weights", "in_alert"} as JSON
import { parse } from 'csv-parse';
import { createReadStream } from 'node:fs';

// Its own column list and missing markers, on purpose: an oracle shares no code with what it checks.
const DRAFT_COLUMNS = [
  'params.velRMS.x',
  'params.velRMS.y',
  'params.velRMS.z',
  'params.accelRMS.x',
  'params.accelRMS.y',
  'params.accelRMS.z',
] as const;

// pandas' default missing-value markers, which the draft skips as NaN.
const MISSING = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

export type DraftWeights = Record<string, Record<string, { mean: number; std: number }>>;

interface Table {
  sensorId: string[];
  columns: number[][];
}

/** pandas.read_csv, the part the draft uses: the sensor column and the six value columns. */
async function readTable(path: string): Promise<Table> {
  const table: Table = { sensorId: [], columns: DRAFT_COLUMNS.map(() => []) };
  const parser = createReadStream(path).pipe(parse({ columns: true, bom: true, skip_empty_lines: true }));
  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    table.sensorId.push(record.sensorId!);
    DRAFT_COLUMNS.forEach((column, index) => {
      const cell = record[column]!.trim();
      table.columns[index]!.push(MISSING.has(cell) ? Number.NaN : Number(cell));
    });
  }
  return table;
}

export async function trainLikeTheDraft(path: string): Promise<DraftWeights> {
  const table = await readTable(path);

  const sensors: string[] = [];
  for (const sensor of table.sensorId) {
    if (!sensors.includes(sensor)) sensors.push(sensor);
  }

  const weights: DraftWeights = {};
  for (const sensor of sensors) {
    // df[df['sensorId'] == sensor]: a pass over the whole table for every sensor.
    const rows: number[] = [];
    for (let row = 0; row < table.sensorId.length; row++) if (table.sensorId[row] === sensor) rows.push(row);
    weights[sensor] = {};
    DRAFT_COLUMNS.forEach((column, index) => {
      const values: number[] = [];
      for (const row of rows) {
        const value = table.columns[index]![row]!;
        if (!Number.isNaN(value)) values.push(value);
      }
      let total = 0;
      for (const value of values) total += value;
      const mean = total / values.length;
      let squares = 0;
      for (const value of values) squares += (value - mean) ** 2;
      weights[sensor]![column] = { mean, std: Math.sqrt(squares / (values.length - 1)) };
    });
  }
  return weights;
}

export function draftPredict(value: number, model: { mean: number; std: number }): boolean {
  return value >= model.mean + 2 * model.std;
}

export function draftInAlert(weights: DraftWeights, value: number): Record<string, Record<string, boolean>> {
  const inAlert: Record<string, Record<string, boolean>> = {};
  for (const [sensor, models] of Object.entries(weights)) {
    inAlert[sensor] = {};
    for (const [column, model] of Object.entries(models)) inAlert[sensor][column] = draftPredict(value, model);
  }
  return inAlert;
}

if (require.main === module) {
  const [path, value = '0.09'] = process.argv.slice(2);
  if (!path) {
    console.error('usage: draft-port FILE [VALUE]');
    process.exit(2);
  }
  void trainLikeTheDraft(path).then((weights) => {
    console.log(JSON.stringify({ weights, in_alert: draftInAlert(weights, Number(value)) }));
  });
}
