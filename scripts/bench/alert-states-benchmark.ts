// What does keeping alert states cost live ingestion on SQLite? Runs IngestReadingsUseCase in
// process (weights lookup, scoring, alert states stepped and stored in one transaction per
// batch; events to a publisher that drops them), and AlertStateRepository.advance alone, over
// a fresh file, for batches of whatever size a subscriber hands over. Reports readings/s by
// wall clock and by this process's CPU time (steadier on a loaded machine), medians of runs,
// runs alternating between the batch sizes.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberOption, parseScriptArguments, wholeNumberListOption, wholeNumberOption } from '../script-arguments';
import { IngestReadingsUseCase, type IncomingReading } from '../../src/application/ingest-readings.use-case';
import type { ScoredReading } from '../../src/application/ports/alert-state.repository';
import { StreamLearner } from '../../src/application/stream-learner';
import { AlertDebounce } from '../../src/domain/alert-debounce';
import { AlertPolicy } from '../../src/domain/alert-policy';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { Weights } from '../../src/domain/weights';
import { openWeightsStorage } from '../../src/weights-storage';
import { median } from './median';

const USAGE = `Usage: npm run bench:alert-states -- [--readings N] [--models N] [--batches N,N] [--runs N] [--alerts F] [--learn] [--smoke]

Live ingestion's storage side on SQLite, in process: the ingest use case (weights lookup,
scoring, alert states stepped and stored per batch) and the alert-state step alone.

Options:
  --readings N    readings per run (default 200000)
  --models N      models the readings are spread over (default 500)
  --batches N,N   batch sizes, each measured (default 100,1000)
  --runs N        alternating runs; medians are reported (default 5)
  --alerts F      share of readings that are alerts, 0 to 1 (default 0.05)
  --learn         learn from the stream too (LEARN_FROM_STREAM)
  --smoke         one short run (2,000 readings), to check that it still works
  -h, --help      this text`;
const { values: options } = parseScriptArguments(USAGE, {
  options: {
    readings: { type: 'string', default: '200000' },
    models: { type: 'string', default: '500' },
    batches: { type: 'string', default: '100,1000' },
    runs: { type: 'string', default: '5' },
    alerts: { type: 'string', default: '0.05' },
    learn: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});
const readingsPerRun = options.smoke ? 2000 : wholeNumberOption(USAGE, 'readings', options.readings);
const modelCount = wholeNumberOption(USAGE, 'models', options.models);
const batchSizes = wholeNumberListOption(USAGE, 'batches', options.batches);
const runs = options.smoke ? 1 : wholeNumberOption(USAGE, 'runs', options.runs);
const alertShare = numberOption(USAGE, 'alerts', options.alerts, 0, 1);

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, fatal: () => undefined, lifecycle: () => undefined };

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-alert-states-'));
  const storage = await openWeightsStorage({ dbPath: join(directory, 'sensors.db') });
  try {
    const metrics = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z', 'params.accelRMS.x', 'params.accelRMS.y'].map((name) => MetricName.of(name));
    const models = Array.from({ length: modelCount }, (_, index) => ({ sensor: Sensor.withId(`SEN${String(Math.floor(index / 5)).padStart(4, '0')}`), metric: metrics[index % 5]! }));
    // Mean 0.07, std 0.01: threshold 0.09.
    await storage.repository.replaceAll(models.map(({ sensor, metric }) => ({ sensor, metric, weights: Weights.of(0.07, 0.01, 1000) })));
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const readings: IncomingReading[] = Array.from({ length: readingsPerRun }, (_, index) => ({
      ...models[Math.floor(random() * models.length)]!,
      value: random() < alertShare ? 0.095 + 0.01 * random() : 0.05 + 0.03 * random(),
      at: new Date(Date.UTC(2026, 10, 30) + index),
    }));
    const learner = new StreamLearner(storage.repository, { enabled: options.learn, batchSize: 1000, batchMs: 1000 }, silent);
    const ingest = new IngestReadingsUseCase(storage.repository, storage.alertStates, { publish: () => undefined }, new AlertPolicy(), new AlertDebounce(2, 2), learner);
    const policy = new AlertPolicy();
    const scored: ScoredReading[] = readings.map((reading) => ({ ...reading, threshold: 0.09, inAlert: reading.value >= policy.threshold(Weights.of(0.07, 0.01, 1000)) }));

    const results = new Map<string, { wall: number[]; cpu: number[] }>();
    const record = (label: string, wallSeconds: number, cpuSeconds: number) => {
      const entry = results.get(label) ?? { wall: [], cpu: [] };
      entry.wall.push(readingsPerRun / wallSeconds);
      entry.cpu.push(readingsPerRun / cpuSeconds);
      results.set(label, entry);
    };
    for (let run = 0; run < runs; run++) {
      for (const batchSize of batchSizes) {
        record(`use case, batch ${batchSize}`, ...(await timed(async () => {
          for (let start = 0; start < readings.length; start += batchSize) await ingest.execute(readings.slice(start, start + batchSize));
        })));
        record(`advance alone, batch ${batchSize}`, ...(await timed(async () => {
          const debounce = new AlertDebounce(2, 2);
          for (let start = 0; start < scored.length; start += batchSize) await storage.alertStates.advance(scored.slice(start, start + batchSize), debounce);
        })));
      }
    }
    await learner.close();
    console.log(
      `bench:alert-states  SQLite, ${readingsPerRun.toLocaleString('en-US')} readings per run over ${modelCount} models, ${alertShare * 100}% above the threshold, debounce 2/2${options.learn ? ', learning on' : ''}; median of ${runs} runs`,
    );
    for (const [label, { wall, cpu }] of results) {
      console.log(`${label.padEnd(26)} ${Math.round(median(wall)).toLocaleString('en-US').padStart(10)} readings/s wall   ${Math.round(median(cpu)).toLocaleString('en-US').padStart(10)} readings/s of CPU`);
    }
  } finally {
    await storage.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function timed(work: () => Promise<void>): Promise<[number, number]> {
  const cpuBefore = process.cpuUsage();
  const before = process.hrtime.bigint();
  await work();
  const wall = Number(process.hrtime.bigint() - before) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return [wall, (cpu.user + cpu.system) / 1e6];
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
