// Prints, from the stored weights, whether a value is an alert for every sensor and column
// (the draft's result).
import 'reflect-metadata';
import { EvaluateAlertsUseCase, type ModelTable } from '../../application/evaluate-alerts.use-case';
import { loadConfig } from '../../config';
import { AlertPolicy } from '../../domain/alert-policy';
import { InvalidSensorIdError } from '../../domain/domain-errors';
import { Sensor } from '../../domain/sensor';
import { describeWeightsStorage, openWeightsStorage, WeightsStorageOpenError } from '../../weights-storage';
import { parseDecimalNumber } from '../decimal-number';
import { orderedJson } from '../ordered-json';
import { parseCliArguments } from './cli-arguments';
import { runCli } from './run-cli';
import { UsageError } from './usage.error';

const FORMATS = ['table', 'json', 'csv'] as const;

const HELP = `Usage: sensor-alerts alerts --value V [--format table|json|csv] [--sensor ID]
       sensor-alerts alerts --thresholds [--format table|json|csv] [--sensor ID]
       npm run alerts -- --value V [--format table|json|csv] [--sensor ID]

Prints, from the stored weights, whether V is an alert (V >= mean + 2 * std) for every
sensor and column: the draft's alert table. With --thresholds, the table of the thresholds
themselves (mean + 2 * std), the level a reading must reach to be an alert. Train first
(sensor-alerts train).

Options:
  --value V        the reading to evaluate (required, unless --thresholds): a decimal number
                   as the API's ?value= takes it, e.g. 0.09, -3 or 1.5e-3 (not 0x10)
  --thresholds     print each model's threshold instead (every digit of the double; json:
                   null, table and csv: Infinity, for one beyond the largest double)
  --format F       table (default; T = alert, F = not), json or csv
  --sensor ID      one sensor only (once)
  -h, --help       this text

The weights are read from DATABASE_URL's PostgreSQL database when it is set, else from the
SQLite file DB_PATH (default data/sensors.db, relative to the current folder), which must
exist. Either must hold weights of this version's schema: alerts opens it read-only, never
creates a database or writes to one (SQLite may create the -wal and -shm files beside it,
as for any reader), and a training meanwhile does not stop it.

Example:
  sensor-alerts alerts --value 0.09 --format json

Exit codes: 0 printed; 1 bad configuration or database (a missing DB_PATH file, or one that
holds no models, too); 2 bad arguments (one line on stderr).
`;

runCli('alerts', async () => {
  const parsed = parseCliArguments({
    help: HELP,
    options: { value: { type: 'string' }, thresholds: { type: 'boolean' }, format: { type: 'string', default: 'table' }, sensor: { type: 'string' } },
  });
  if (!parsed) return;
  const { values: options } = parsed;
  const thresholds = options.thresholds === true;
  if (thresholds && options.value !== undefined) throw new UsageError('--thresholds prints the thresholds themselves: give it or --value, not both');
  if (!thresholds && options.value === undefined) throw new UsageError('--value is required: the reading to evaluate, e.g. --value 0.09 (or --thresholds)');
  const value = thresholds ? undefined : parseDecimalNumber(options.value!);
  if (!thresholds && value === undefined) throw new UsageError(`--value must be a finite decimal number, e.g. 0.09 or -3 (got ${JSON.stringify(options.value)})`);
  const format = FORMATS.find((known) => known === options.format);
  if (!format) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const sensor = options.sensor === undefined ? undefined : sensorArgument(options.sensor);

  // Read only: a missing file is a wrong DB_PATH (or no training yet), not a new empty database.
  const config = loadConfig();
  const storage = await openWeightsStorage({ ...config, readOnly: true });
  try {
    const evaluate = new EvaluateAlertsUseCase(storage.repository, new AlertPolicy());
    const table = value === undefined ? await evaluate.thresholds(sensor) : await evaluate.execute(value, sensor);
    // A database the server created but nothing trained: the same error as an empty file, not an empty table and exit 0.
    if (table.size === 0) {
      const variable = config.databaseUrl ? 'DATABASE_URL' : 'DB_PATH';
      throw new WeightsStorageOpenError(`the weights database at ${describeWeightsStorage(config)} holds no models (nothing trained yet, or every model deleted): train first, or check ${variable}`);
    }
    process.stdout.write(render(table, format, value));
  } finally {
    await storage.close();
  }
});

/** The table as text: in alert (T/F) when `value` is given, else the thresholds. */
function render(table: ModelTable<boolean> | ModelTable<number>, format: (typeof FORMATS)[number], value: number | undefined): string {
  if (format === 'json') return `${orderedJson(table, 2)}\n`;
  const sensors = [...table.keys()];
  const metrics = [...new Set([...table.values()].flatMap((ofSensor) => [...ofSensor.keys()]))].sort();
  const cell = (sensor: string, metric: string, yes = 'T', no = 'F') => {
    const entry = (table as ModelTable<boolean | number>).get(sensor)?.get(metric);
    if (entry === undefined) return '';
    return typeof entry === 'number' ? String(entry) : entry ? yes : no;
  };
  if (format === 'csv') {
    const lines = [['sensor_id', ...metrics].join(','), ...sensors.map((sensor) => [sensor, ...metrics.map((metric) => cell(sensor, metric, 'true', 'false'))].join(','))];
    return `${lines.join('\n')}\n`;
  }
  const width = longest(sensors, 'sensor_id'.length);
  const widths = metrics.map((metric) => longest(sensors.map((sensor) => cell(sensor, metric)), metric.length));
  const header = ['sensor_id'.padEnd(width), ...metrics.map((metric, index) => metric.padEnd(widths[index]!))].join('  ').trimEnd();
  const rows = sensors.map((sensor) => [sensor.padEnd(width), ...metrics.map((metric, index) => cell(sensor, metric).padEnd(widths[index]!))].join('  ').trimEnd());
  if (value === undefined) return `${[header, ...rows].join('\n')}\nthreshold = mean + 2 * std: a reading at or above it is an alert\n`;
  const decisions = [...table.values()].flatMap((ofSensor) => [...ofSensor.values()]);
  const alerts = decisions.filter(Boolean).length;
  return `${[header, ...rows].join('\n')}\nT = alert (${value} >= mean + 2 * std): ${alerts} of ${decisions.length}\n`;
}

/** The length of the longest of `texts`, at least `least` (a loop: Math.max(...texts) overflows the stack past ~120,000). */
function longest(texts: readonly string[], least: number): number {
  let length = least;
  for (const text of texts) if (text.length > length) length = text.length;
  return length;
}

/** A malformed --sensor is a command line the tool cannot act on: exit 2, like any other. */
function sensorArgument(id: string): Sensor {
  try {
    return Sensor.withId(id);
  } catch (error) {
    if (error instanceof InvalidSensorIdError) throw new UsageError(`--sensor: ${error.message}`);
    throw error;
  }
}
