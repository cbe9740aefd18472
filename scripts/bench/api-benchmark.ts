// Measures the API under load (autocannon) against a bare Express app answering the same
// routes with res.json(true), the ceiling, and against that app behind our own request ids,
// logs and metrics (observed), in one run, alternating: each point is five rounds of ours,
// the ceiling and observed, its ratios the medians of the rounds' ratios (this machine's
// load drifts over seconds), its latencies percentiles of every response after a warm-up.
// The servers run as in production: request logs (to /dev/null) and metrics on. Then the
// large batch: 100,000 items over 1,000 sensors, one request at a time, end to end (the
// answer parsed by the client).
// The weights live in a temporary SQLite file, or with --postgres in a throwaway PostgreSQL
// server started from the machine's binaries (durable: fsync on), or with --database-url in
// an existing one (its weights tables get 1,000 sensors fitted).
// --log-level warn (or error) runs ours and observed without their per-request log lines,
// to see what those cost.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScriptArguments, wholeNumberOption } from '../script-arguments';
import { freePort } from '../free-port';
import { startPostgresCluster } from '../postgres-cluster';
import { median, percentile } from './median';
import { waitForUrl } from './wait-for-url';

const USAGE = `Usage: npm run bench:api -- [--seconds N] [--postgres | --database-url URL] [--log-level L] [--smoke]

The API under load (autocannon) at 1, 10 and 50 connections, against a bare Express app
answering the same routes (the ceiling) and that app behind our request ids, logs and
metrics, alternating in five rounds per point; then a 100,000-item batch end to end.

Options:
  --seconds N         seconds of load per round and point (default 5)
  --postgres          weights in a throwaway PostgreSQL server (default a temporary SQLite file)
  --database-url URL  weights in your PostgreSQL database (1,000 sensors get fitted there)
  --log-level L       the servers' LOG_LEVEL (default info: request logs on; warn: off)
  --smoke             one short round at one connection, to check that it still works
  -h, --help          this text`;
const { values: options } = parseScriptArguments(USAGE, {
  options: {
    seconds: { type: 'string', default: '5' },
    smoke: { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const seconds = options.smoke ? 1 : wholeNumberOption(USAGE, 'seconds', options.seconds);
const rounds = options.smoke ? 1 : 5;
const connectionCounts = options.smoke ? [1] : [1, 10, 50];
const SENSORS = 1000;
const requestLogs = ['debug', 'info'].includes(options['log-level']);
const batch = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ sensor_id: `S${i % SENSORS}`, value: i })) });

interface Scenario {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
}

const allScenarios: Scenario[] = [
  { name: 'predict', method: 'POST', path: '/S7/predict', body: JSON.stringify({ value: 8.5 }) },
  { name: 'weights', method: 'GET', path: '/S7/weights' },
  { name: 'fit (100 values)', method: 'POST', path: '/FIT/fit', body: JSON.stringify({ values: Array.from({ length: 100 }, (_, i) => i / 7) }) },
  { name: 'batch predict (100 items)', method: 'POST', path: '/predict', body: batch },
];
const scenarios = options.smoke ? allScenarios.slice(0, 1) : allScenarios;

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const cluster = options.postgres ? await startPostgresCluster({ durable: true }) : undefined;
  const databaseUrl = cluster?.url ?? options['database-url'];
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', DB_PATH: join(directory, 'sensors.db'), DATABASE_URL: databaseUrl ?? '', LOG_LEVEL: options['log-level'] };
  delete env.NODE_EXTRA_CA_CERTS;
  const oursPort = await freePort();
  const ceilingPort = await freePort();
  const observedPort = await freePort();
  const children: ChildProcess[] = [
    spawn(process.execPath, [join(__dirname, '../../src/main.js')], { env: { ...env, PORT: String(oursPort) }, stdio: 'ignore' }),
    spawn(process.execPath, [join(__dirname, 'plain-express.js'), String(ceilingPort)], { env, stdio: 'ignore' }),
    spawn(process.execPath, [join(__dirname, 'plain-express.js'), String(observedPort), '--observed'], { env, stdio: 'ignore' }),
  ];
  try {
    await Promise.all([
      waitForUrl(`http://127.0.0.1:${oursPort}/health`, 10_000),
      waitForUrl(`http://127.0.0.1:${ceilingPort}/S7/weights`, 10_000),
      waitForUrl(`http://127.0.0.1:${observedPort}/S7/weights`, 10_000),
    ]);
    for (let i = 0; i < SENSORS; i++) {
      await fetch(`http://127.0.0.1:${oursPort}/S${i}/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [i, i + 2, i + 4] }) });
    }
    const backend = databaseUrl ? `PostgreSQL (${cluster ? 'throwaway local server, fsync on' : 'given by --database-url'})` : 'SQLite (temporary file)';
    console.log(
      `bench:api  node ${process.version}, weights in ${backend}, ${seconds} s per side and point in ${rounds} alternating rounds; metrics on, LOG_LEVEL=${options['log-level']}${requestLogs ? ' (a line per request)' : ' (no request lines)'}`,
    );
    console.log('ceiling: bare Express answering res.json(true); observed: the same behind our request ids, logs and metrics');
    console.log(
      `${'route'.padEnd(26)} ${'conns'.padStart(5)} ${'ours req/s'.padStart(11)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ` +
        `${'ceiling req/s'.padStart(14)} ${'p99 ms'.padStart(7)} ${'ratio'.padStart(6)} ` +
        `${'observed req/s'.padStart(15)} ${'p99 ms'.padStart(7)} ${'ratio'.padStart(6)}`,
    );
    for (const scenario of scenarios) {
      for (const connections of connectionCounts) {
        const ours = new Load();
        const ceiling = new Load();
        const observed = new Load();
        const toCeiling: number[] = [];
        const toObserved: number[] = [];
        for (let round = 0; round < rounds; round++) {
          const oursRate = await ours.measure(oursPort, scenario, connections, seconds / rounds);
          toCeiling.push(oursRate / (await ceiling.measure(ceilingPort, scenario, connections, seconds / rounds)));
          toObserved.push(oursRate / (await observed.measure(observedPort, scenario, connections, seconds / rounds)));
        }
        console.log(
          `${scenario.name.padEnd(26)} ${String(connections).padStart(5)} ${rate(ours).padStart(11)} ` +
            `${ours.percentile(0.5).toFixed(1).padStart(7)} ${ours.percentile(0.99).toFixed(1).padStart(7)} ` +
            `${rate(ceiling).padStart(14)} ${ceiling.percentile(0.99).toFixed(1).padStart(7)} ${median(toCeiling).toFixed(2).padStart(6)} ` +
            `${rate(observed).padStart(15)} ${observed.percentile(0.99).toFixed(1).padStart(7)} ${median(toObserved).toFixed(2).padStart(6)}`,
        );
        if (ours.failures > 0) throw new Error(`${scenario.name}: ${ours.failures} non-2xx answers or errors`);
      }
    }
    await largeBatch(oursPort);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.filter((child) => child.exitCode === null && child.signalCode === null).map((child) => once(child, 'exit')));
    await cluster?.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

function rate(load: Load): string {
  return Math.round(median(load.rates)).toLocaleString('en-US');
}

/** POST /predict with 100,000 items over 1,000 sensors, one at a time: median time and predictions/s. */
async function largeBatch(port: number): Promise<void> {
  const items = Array.from({ length: 100_000 }, (_, i) => ({ sensor_id: `S${i % SENSORS}`, value: i % 7 }));
  const body = JSON.stringify({ items }); // a client has its batch ready: serializing it is not the service's time
  const runs = options.smoke ? 1 : 9;
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const startedAt = process.hrtime.bigint();
    const response = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const { predictions } = (await response.json()) as { predictions: unknown[] };
    times.push(Number(process.hrtime.bigint() - startedAt) / 1e9);
    if (response.status !== 200 || predictions.length !== items.length) throw new Error(`large batch: status ${response.status}`);
  }
  const seconds = median(times);
  console.log(
    `batch predict, 100,000 items over ${SENSORS.toLocaleString('en-US')} sensors, one request at a time: median ${(seconds * 1000).toFixed(0)} ms of ${runs}, ` +
      `${Math.round(items.length / seconds).toLocaleString('en-US')} predictions/s end to end (answer parsed by the client)`,
  );
}

// Requests sent in a round's first moments wait on connections still being set up, for
// hundreds of milliseconds now and then, on the ceiling too: each round starts with this
// warm-up, whose answers are not counted.
const WARM_UP_MS = 250;

/** One side of a point over its rounds: requests per second of each round, and every response's latency. */
class Load {
  readonly rates: number[] = [];
  private readonly latenciesMs: number[] = [];
  failures = 0;

  measure(port: number, scenario: Scenario, connections: number, seconds: number): Promise<number> {
    const measuredFrom = performance.now() + WARM_UP_MS;
    let answered = 0;
    return new Promise((resolve, reject) => {
      const instance = autocannon(
        {
          url: `http://127.0.0.1:${port}${scenario.path}`,
          method: scenario.method,
          connections,
          duration: seconds + WARM_UP_MS / 1000,
          headers: { 'content-type': 'application/json' },
          ...(scenario.body !== undefined && { body: scenario.body }),
        },
        (error: Error | null, result: autocannon.Result) => {
          if (error) return reject(error);
          this.failures += result.non2xx + result.errors;
          const rate = answered / ((performance.now() - measuredFrom) / 1000);
          this.rates.push(rate);
          resolve(rate);
        },
      );
      instance.on('response', (_client, _status, _bytes, milliseconds) => {
        if (performance.now() - milliseconds < measuredFrom) return;
        answered++;
        this.latenciesMs.push(milliseconds);
      });
    });
  }

  /** Nearest rank over every response of every round. */
  percentile(fraction: number): number {
    return percentile(this.latenciesMs, fraction);
  }
}

void main().catch((error: unknown) => {
  console.error(`bench:api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
