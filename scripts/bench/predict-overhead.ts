// What does REST cost per prediction? Measures, in one run, the decision itself (the use
// case over SQLite, in process) and the same decision through HTTP/JSON/Express against
// the real server in its own process, with keep-alive clients. Medians of the runs.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScriptArguments, wholeNumberOption } from '../script-arguments';
import { PredictAlertUseCase } from '../../src/application/predict-alert.use-case';
import { AlertPolicy } from '../../src/domain/alert-policy';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { Weights } from '../../src/domain/weights';
import { openWeightsStorage } from '../../src/weights-storage';
import { median } from './median';

const USAGE = `Usage: npm run bench:predict -- [--requests N] [--connections N] [--runs N] [--smoke]

One prediction in process (the use case and its SQLite lookup) against the same prediction
over HTTP (the real server, request logs and metrics on), in alternating runs.

Options:
  --requests N     HTTP predictions per run (default 20000; in process, 10 times as many)
  --connections N  keep-alive HTTP connections (default 10)
  --runs N         runs; medians are reported (default 3)
  --smoke          one short run (1,000 requests), to check that it still works
  -h, --help       this text`;
const { values: options } = parseScriptArguments(USAGE, {
  options: {
    requests: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    smoke: { type: 'boolean', default: false },
  },
});
const requests = options.smoke ? 1000 : wholeNumberOption(USAGE, 'requests', options.requests);
const connections = wholeNumberOption(USAGE, 'connections', options.connections);
const runs = options.smoke ? 1 : wholeNumberOption(USAGE, 'runs', options.runs);

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-predict-'));
  const dbPath = join(directory, 'sensors.db');
  const storage = await openWeightsStorage({ dbPath });
  const sensor = Sensor.withId('SEN0001');
  await storage.repository.replace(sensor, MetricName.DEFAULT, Weights.fromReadings([10, 5, 6, 9]));
  const predict = new PredictAlertUseCase(storage.repository, new AlertPolicy());

  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath, LOG_LEVEL: 'info' }; // request logs on, as in production
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.DATABASE_URL; // both sides of the comparison read the same SQLite file
  const server = spawn(process.execPath, [join(__dirname, '../../src/main.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await listeningPort(server.stdout);
    const inProcess: number[] = [];
    const overHttp: Array<{ perSecond: number; p50: number; p99: number }> = [];
    for (let run = 0; run < runs; run++) {
      inProcess.push(await decisionsPerSecond(() => predict.execute(sensor, MetricName.DEFAULT, 10)));
      overHttp.push(await httpPredictions(port));
    }
    const decision = median(inProcess);
    const http = median(overHttp.map((result) => result.perSecond));
    console.log(`bench:predict  ${requests} requests over ${connections} keep-alive connections, median of ${runs} run(s)`);
    console.log(`in process (use case + SQLite lookup): ${Math.round(decision).toLocaleString('en-US')} predictions/s, ${(1e6 / decision).toFixed(1)} us each`);
    console.log(
      `over HTTP (POST /SEN0001/predict):     ${Math.round(http).toLocaleString('en-US')} predictions/s, ` +
        `p50 ${median(overHttp.map((result) => result.p50)).toFixed(2)} ms, p99 ${median(overHttp.map((result) => result.p99)).toFixed(2)} ms`,
    );
    console.log(`one prediction over HTTP costs as much as ${(decision / http).toFixed(0)} decisions in process`);
  } finally {
    server.kill('SIGTERM');
    await storage.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function decisionsPerSecond(decide: () => Promise<boolean>): Promise<number> {
  const count = requests * 10;
  const startedAt = process.hrtime.bigint();
  for (let index = 0; index < count; index++) await decide();
  return count / (Number(process.hrtime.bigint() - startedAt) / 1e9);
}

async function httpPredictions(port: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const body = JSON.stringify({ value: 10 });
  const latencies: number[] = [];
  let next = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const sentAt = process.hrtime.bigint();
      const call = request({ port, host: '127.0.0.1', path: '/SEN0001/predict', method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
          latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
          resolve();
        });
      });
      call.on('error', reject);
      call.end(body);
    });
  const worker = async () => {
    while (next++ < requests) await one();
  };
  const startedAt = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { perSecond: requests / seconds, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

function listeningPort(stdout: NodeJS.ReadableStream): Promise<number> {
  // Keeps draining the server's log lines afterwards: a full pipe would stall the server.
  return new Promise((resolve) => {
    let seen = '';
    let port: number | undefined;
    stdout.on('data', (chunk: Buffer) => {
      if (port !== undefined) return;
      seen += chunk.toString();
      const match = /"url":"http:\/\/[^"]*:(\d+)"/.exec(seen);
      if (match) resolve((port = Number(match[1])));
    });
  });
}


void main();
