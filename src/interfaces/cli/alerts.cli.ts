// Prints, from the stored weights, whether a value is an alert for every sensor and column
// (the draft's result). Usage: npm run alerts -- --value 0.09 [--format table|json|csv] [--sensor ID]
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { EvaluateAlertsUseCase, type AlertTable } from '../../application/evaluate-alerts.use-case';
import { loadConfig } from '../../config';
import { AlertPolicy } from '../../domain/alert-policy';
import { Sensor } from '../../domain/sensor';
import { openWeightsStorage } from '../../weights-storage';
import { orderedJson } from '../ordered-json';
import { runCli, UsageError } from './run-cli';

const FORMATS = ['table', 'json', 'csv'] as const;

runCli('alerts', async () => {
  const { values: options } = parseArgs({
    options: { value: { type: 'string' }, format: { type: 'string', default: 'table' }, sensor: { type: 'string' } },
  });
  const value = Number(options.value);
  if (options.value === undefined || options.value.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError('--value must be a finite number, e.g. --value 0.09');
  }
  const format = FORMATS.find((known) => known === options.format);
  if (!format) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const sensor = options.sensor === undefined ? undefined : Sensor.withId(options.sensor);

  const storage = await openWeightsStorage(loadConfig());
  try {
    const table = await new EvaluateAlertsUseCase(storage.repository, new AlertPolicy()).execute(value, sensor);
    process.stdout.write(render(table, format, value));
  } finally {
    await storage.close();
  }
});

function render(table: AlertTable, format: (typeof FORMATS)[number], value: number): string {
  if (format === 'json') return `${orderedJson(table, 2)}\n`;
  const sensors = [...table.keys()];
  const metrics = [...new Set([...table.values()].flatMap((ofSensor) => [...ofSensor.keys()]))].sort();
  const cell = (sensor: string, metric: string, yes: string, no: string) => {
    const alert = table.get(sensor)?.get(metric);
    return alert === undefined ? '' : alert ? yes : no;
  };
  if (format === 'csv') {
    const lines = [['sensor_id', ...metrics].join(','), ...sensors.map((sensor) => [sensor, ...metrics.map((metric) => cell(sensor, metric, 'true', 'false'))].join(','))];
    return `${lines.join('\n')}\n`;
  }
  if (sensors.length === 0) return 'no stored weights: train first (npm run train)\n';
  const width = Math.max(9, ...sensors.map((sensor) => sensor.length));
  const header = ['sensor'.padEnd(width), ...metrics].join('  ');
  const rows = sensors.map((sensor) =>
    [sensor.padEnd(width), ...metrics.map((metric) => cell(sensor, metric, 'T', 'F').padEnd(metric.length))].join('  ').trimEnd(),
  );
  const decisions = [...table.values()].flatMap((ofSensor) => [...ofSensor.values()]);
  const alerts = decisions.filter(Boolean).length;
  return `${[header, ...rows].join('\n')}\nT = alert (${value} >= mean + 2 * std): ${alerts} of ${decisions.length}\n`;
}
