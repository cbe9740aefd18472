// Live ingestion end to end: readings published to a local Mosquitto (QoS 1), scored by the
// real service process (state kept in storage, alert events published back to the broker),
// against a ceiling in the same run: a bare MQTT.js subscriber (its own process, same broker,
// same kind of subscription: shared, QoS 1, persistent session) that JSON.parses each message
// and does nothing else.
//
// Models: the real data's 10 sensors x 6 metrics (data/collects.csv), fitted over HTTP.
// Throughput: N readings from the real rows, one per message
// ({"metric": m, "value": v, "at": createdAt} on sensors/<id>/readings), published as fast
// as the broker acknowledges them (1,000 in flight; the packets are encoded beforehand and
// written straight to the socket, so the publisher costs next to nothing), from the first publish to the moment
// the last one is scored (the service's /metrics readings counter, polled every 10 ms) or
// parsed (the ceiling); after a warm-up burst per side, rounds alternate service and
// ceiling, each figure is the median of the rounds and the ratio the median of the rounds' ratios.
// CPU: on this shared machine wall time swings with other load, so each burst also takes the
// CPU time the consumer process (the service, the bare subscriber) spent (Linux /proc), and
// gives readings per CPU-second; the service's excludes its waits for fsync (SQLite commits).
// Latency: at a steady rate well below saturation (a burst measures queueing, not scoring),
// readings that are each an alert transition (one sensor's values alternate above and below
// its threshold), from the publish of a reading to the receipt of the alert event it caused
// (so one more trip through the broker than the ceiling's, from publish to parsed);
// p50 / p99 over every reading of every round.
//        [--smoke] [--cpu-prof DIR]   (--cpu-prof: the service writes a V8 CPU profile there)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { numberOption, parseScriptArguments, wholeNumberOption } from '../script-arguments';
import { connectAsync, type MqttClient } from 'mqtt';
import { freePort } from '../free-port';
import { startMosquitto } from '../mosquitto-broker';
import { startPostgresCluster } from '../postgres-cluster';
import { median, percentile } from './median';
import { waitForUrl } from './wait-for-url';
import { RawPublisher } from './raw-publisher';

const USAGE = `Usage: npm run bench:ingest -- [--readings N] [--rounds N] [--rate N] [--latency-seconds S] [--postgres] [--smoke] [--cpu-prof DIR]

Live readings end to end: the real service scoring readings published to a throwaway local
Mosquitto (QoS 1), against a bare MQTT.js subscriber that only parses them; then the latency
from publish to alert event at a steady rate.

Options:
  --readings N         readings per throughput round (default 100000)
  --rounds N           alternating rounds; medians are reported (default 5)
  --rate N             readings/s of the latency run (default 1000)
  --latency-seconds S  length of the latency run (default 2)
  --postgres           the service's state in a throwaway PostgreSQL server (default SQLite)
  --smoke              one short round (300 readings), to check that it still works
  --cpu-prof DIR       the service writes a V8 CPU profile into DIR
  -h, --help           this text`;
const { values: options } = parseScriptArguments(USAGE, {
  options: {
    readings: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '1000' },
    'latency-seconds': { type: 'string', default: '2' },
    postgres: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
const N = options.smoke ? 300 : wholeNumberOption(USAGE, 'readings', options.readings);
const ROUNDS = options.smoke ? 1 : wholeNumberOption(USAGE, 'rounds', options.rounds);
const RATE = wholeNumberOption(USAGE, 'rate', options.rate);
// Even: each round ends with the alert cleared, so the next one's first reading raises it.
const LATENCY_READINGS = options.smoke ? 20 : Math.max(2, 2 * Math.round((RATE * numberOption(USAGE, 'latency-seconds', options['latency-seconds'], 0.01, 3600)) / 2));
const IN_FLIGHT = 1000;
const SHARE_GROUP = 'sensor-alerts';
const LATENCY_SENSOR = 'LATENCY01';
// The service's counter of scored readings, by outcome (alert, no_alert, unscored, invalid).
const READINGS_COUNTER = /^sensor_readings_ingested_total\{[^}]*\} (\S+)$/gm;
const now = () => performance.timeOrigin + performance.now();

interface Reading {
  readonly sensor: string;
  readonly payload: string;
}

async function main(): Promise<void> {
  const { readings, models } = realReadings(N);
  const directory = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const broker = await startMosquitto({ maxInflight: IN_FLIGHT });
  const cluster = options.postgres ? await startPostgresCluster({ durable: true }) : undefined;
  const children: ChildProcess[] = [];
  const clients: MqttClient[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DB_PATH: join(directory, 'sensors.db'),
      DATABASE_URL: cluster?.url ?? '',
      LOG_LEVEL: 'info',
      MQTT_URL: broker.url,
      MQTT_SHARE_GROUP: SHARE_GROUP,
      MQTT_CLIENT_ID: `bench-service-${process.pid}`,
    };
    delete env.NODE_EXTRA_CA_CERTS;
    const profile = options['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(options['cpu-prof'])];
    const service = spawn(process.execPath, [...profile, join(__dirname, '../../src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(service);
    const api = `http://127.0.0.1:${port}`;
    await waitForUrl(`${api}/ready`, 15_000);
    for (const [key, values] of models) {
      const [sensor, metric] = key.split('\u0000') as [string, string];
      await post(`${api}/${sensor}/fit?metric=${encodeURIComponent(metric)}`, { values });
    }
    // Mean 0.5, std sqrt(1/2), threshold 1.914: 10 raises, 0 clears, so every reading is a transition.
    await post(`${api}/${LATENCY_SENSOR}/fit`, { values: [0, 1] });

    // Same topic shape and kind of subscription, another topic: both stay subscribed, and a
    // round's readings reach only the side it measures.
    const ceiling = spawn(process.execPath, [join(__dirname, 'bare-subscriber.js'), broker.url, `$share/${SHARE_GROUP}/ceiling/+/readings`, `bench-ceiling-${process.pid}`], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(ceiling);
    await nextMessage(ceiling, 'ready');

    const publisher = await RawPublisher.connect(broker.url, `bench-publisher-${process.pid}`);
    closers.push(() => publisher.close());
    // Every alert event the service publishes: counted, and their `at` gives the latency readings.
    const events = await connectAsync(broker.url, { clientId: `bench-events-${process.pid}`, clean: true });
    clients.push(events);
    const eventLog = { count: 0, receivedAt: new Map<string, number>() };
    events.on('message', (_topic, payload) => {
      const event = JSON.parse(payload.toString()) as { sensor_id: string; at: string };
      eventLog.count++;
      if (event.sensor_id === LATENCY_SENSOR) eventLog.receivedAt.set(event.at, now());
    });
    await events.subscribeAsync('sensors/+/alerts', { qos: 1 });
    await waitForSubscriber(api, publisher);

    const backend = cluster ? 'PostgreSQL (throwaway local server, fsync on)' : 'SQLite (temporary file)';
    console.log(
      `bench:ingest  node ${process.version}, Mosquitto on loopback, state in ${backend}; ${N.toLocaleString('en-US')} readings per side and round, ` +
        `${ROUNDS} alternating rounds; ${models.size} models from data/collects.csv; LOG_LEVEL=info, metrics on`,
    );
    // Not counted: the first burst of each side runs colder code (JIT, SQLite's page cache).
    const warmUp = readings.slice(0, Math.min(readings.length, 20_000));
    await serviceBurst(api, service.pid, publisher, warmUp);
    await ceilingBurst(ceiling, publisher, warmUp);
    await settle(() => eventLog.count, 200);
    const serviceBursts: Burst[] = [];
    const ceilingBursts: Burst[] = [];
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    let eventsInBursts = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const eventsBefore = eventLog.count;
      const ours = await serviceBurst(api, service.pid, publisher, readings);
      await settle(() => eventLog.count, 200);
      eventsInBursts += eventLog.count - eventsBefore;
      const bare = await ceilingBurst(ceiling, publisher, readings);
      serviceBursts.push(ours);
      ceilingBursts.push(bare);
      ratios.push(ours.rate / bare.rate);
      cpuRatios.push(ours.perCpuSecond / bare.perCpuSecond);
      console.log(
        `  round ${round + 1}: service ${fmt(ours.rate)} readings/s (${fmt(ours.perCpuSecond)} per CPU-second), ` +
          `ceiling ${fmt(bare.rate)} messages/s (${fmt(bare.perCpuSecond)} per CPU-second), ratio ${(ours.rate / bare.rate).toFixed(2)} (by CPU ${ratioText(ours.perCpuSecond / bare.perCpuSecond)})`,
      );
    }

    const serviceLatencies: number[] = [];
    const ceilingLatencies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      serviceLatencies.push(...(await serviceLatency(publisher, eventLog.receivedAt)));
      ceilingLatencies.push(...(await ceilingLatency(ceiling, publisher)));
    }

    const serviceRate = median(serviceBursts.map((burst) => burst.rate));
    const ratio = median(ratios);
    const row = (side: string, bursts: Burst[], latencies: number[]) =>
      `${side.padEnd(46)} ${fmt(median(bursts.map((burst) => burst.rate))).padStart(11)} ${fmt(median(bursts.map((burst) => burst.perCpuSecond))).padStart(10)} ` +
      `${ms(percentile(latencies, 0.5))} ${ms(percentile(latencies, 0.99))}`;
    console.log('');
    console.log(`${'side'.padEnd(46)} ${'readings/s'.padStart(11)} ${'per CPU-s'.padStart(10)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}`);
    console.log(row('service (scored, state stored, events out)', serviceBursts, serviceLatencies));
    console.log(row('ceiling (bare MQTT.js subscriber, parse only)', ceilingBursts, ceilingLatencies));
    console.log(
      `alert events published during the bursts: ${eventsInBursts.toLocaleString('en-US')} (${((100 * eventsInBursts) / (N * ROUNDS)).toFixed(1)}% of readings); ` +
        `latency: ${serviceLatencies.length.toLocaleString('en-US')} transitions at ${fmt(RATE)} readings/s, publish to alert event received (service), publish to parsed (ceiling)`,
    );
    console.log(`ratio to the ceiling (median of rounds): ${ratio.toFixed(2)} (target >= 0.5: ${ratio >= 0.5 ? 'MET' : 'NOT MET'}); by CPU time: ${ratioText(median(cpuRatios))}`);
    if (!cluster) console.log(`readings/s with SQLite: ${fmt(serviceRate)} (target >= 20,000: ${serviceRate >= 20_000 ? 'MET' : 'NOT MET'})`);
  } finally {
    await Promise.all([...clients.map((client) => client.endAsync()), ...closers.map((close) => close())]);
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.filter((child) => child.exitCode === null && child.signalCode === null).map((child) => once(child, 'exit')));
    await broker.stop();
    await cluster?.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The first N readings of the real rows, metric by metric, and each (sensor, metric)'s column to fit. */
function realReadings(count: number): { readings: Reading[]; models: Map<string, number[]> } {
  const lines = readFileSync(join(__dirname, '../../../data/collects.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const metrics = header.filter((name) => /^params\.(accel|vel)RMS\.[xyz]$/.test(name));
  const columns = metrics.map((name) => header.indexOf(name));
  const sensorColumn = header.indexOf('sensorId');
  const timeColumn = header.indexOf('createdAt');
  const models = new Map<string, number[]>();
  const all: Reading[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const sensor = cells[sensorColumn]!;
    metrics.forEach((metric, index) => {
      const value = Number(cells[columns[index]!]);
      const key = `${sensor}\u0000${metric}`;
      const column = models.get(key);
      if (column) column.push(value);
      else models.set(key, [value]);
      all.push({ sensor, payload: JSON.stringify({ metric, value, at: cells[timeColumn] }) });
    });
  }
  const readings = Array.from({ length: count }, (_, i) => all[i % all.length]!);
  return { readings, models };
}

interface Burst {
  /** Readings per second of wall time, from the first publish to the last reading scored (or parsed). */
  readonly rate: number;
  /** Readings per second of CPU time of the consumer process over the same span. */
  readonly perCpuSecond: number;
}

async function serviceBurst(api: string, pid: number | undefined, publisher: RawPublisher, readings: readonly Reading[]): Promise<Burst> {
  const before = await readingsCounted(api);
  const packets = RawPublisher.encode(readings.map(({ sensor, payload }) => ({ topic: `sensors/${sensor}/readings`, payload })));
  const cpuBefore = cpuSeconds(pid);
  const startedAt = now();
  const published = publisher.publish(packets, IN_FLIGHT);
  // A reading lost on the way would leave the count short for ever: give up after 30 s without progress.
  for (let counted = 0, progressAt = now(); counted < readings.length; ) {
    // A scrape costs the service CPU: every 50 ms, then every 5 ms near the end (the end's resolution).
    await new Promise((resolve) => setTimeout(resolve, counted < 0.9 * readings.length ? 50 : 5));
    const latest = (await readingsCounted(api)) - before;
    if (latest > counted) progressAt = now();
    else if (now() - progressAt > 30_000) throw new Error(`the service counted ${latest} of ${readings.length} readings, and no more for 30 s`);
    counted = latest;
  }
  const doneAt = now();
  const cpu = cpuSeconds(pid) - cpuBefore;
  await published;
  return { rate: readings.length / ((doneAt - startedAt) / 1000), perCpuSecond: readings.length / cpu };
}

async function ceilingBurst(ceiling: ChildProcess, publisher: RawPublisher, readings: readonly Reading[]): Promise<Burst> {
  ceiling.send({ expect: readings.length, latency: false });
  await nextMessage(ceiling, 'armed');
  const packets = RawPublisher.encode(readings.map(({ sensor, payload }) => ({ topic: `ceiling/${sensor}/readings`, payload })));
  const done = nextMessage<{ doneAt: number }>(ceiling, 'doneAt');
  const cpuBefore = cpuSeconds(ceiling.pid);
  const startedAt = now();
  await publisher.publish(packets, IN_FLIGHT);
  const { doneAt } = await done;
  const cpu = cpuSeconds(ceiling.pid) - cpuBefore;
  return { rate: readings.length / ((doneAt - startedAt) / 1000), perCpuSecond: readings.length / cpu };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (name)": state is the first, utime the 12th and stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * Readings at RATE per second, alternating 10 and 0 on the latency sensor, so that each
 * raises or clears its alert; `at` is unique per reading (a millisecond apart, in the past)
 * and names it in its event.
 */
function pacedReadings(topic: string): { payloads: { at: string; payload: string }[]; publishAt: (publisher: RawPublisher, sentAt: Map<string, number>) => Promise<void> } {
  const base = Date.now() - 86_400_000;
  const payloads = Array.from({ length: LATENCY_READINGS }, (_, i) => {
    const at = new Date(base + i).toISOString();
    return { at, payload: JSON.stringify({ value: i % 2 === 0 ? 10 : 0, at }) };
  });
  const packets = RawPublisher.encode(payloads.map(({ payload }) => ({ topic, payload })));
  const publishAt = async (publisher: RawPublisher, sentAt: Map<string, number>): Promise<void> => {
    const startedAt = now();
    for (let i = 0; i < payloads.length; i++) {
      // Each reading at its slot on the schedule: a late timer does not push the rest back.
      const wait = startedAt + (i * 1000) / RATE - now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      sentAt.set(payloads[i]!.at, now());
      publisher.write(packets[i]!);
    }
  };
  return { payloads, publishAt };
}

async function serviceLatency(publisher: RawPublisher, receivedAt: Map<string, number>): Promise<number[]> {
  const { payloads, publishAt } = pacedReadings(`sensors/${LATENCY_SENSOR}/readings`);
  const sentAt = new Map<string, number>();
  receivedAt.clear();
  await publishAt(publisher, sentAt);
  const deadline = now() + 30_000;
  while (receivedAt.size < payloads.length && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  if (receivedAt.size < payloads.length) throw new Error(`latency: ${receivedAt.size} of ${payloads.length} alert events came back`);
  return payloads.map(({ at }) => receivedAt.get(at)! - sentAt.get(at)!);
}

async function ceilingLatency(ceiling: ChildProcess, publisher: RawPublisher): Promise<number[]> {
  const { payloads, publishAt } = pacedReadings(`ceiling/${LATENCY_SENSOR}/readings`);
  ceiling.send({ expect: payloads.length, latency: true });
  await nextMessage(ceiling, 'armed');
  const done = nextMessage<{ received: [string, number][] }>(ceiling, 'received');
  const sentAt = new Map<string, number>();
  await publishAt(publisher, sentAt);
  const { received } = await done;
  return received.map(([at, parsedAt]) => parsedAt - sentAt.get(at)!);
}

/** Sum of the service's readings counter over its outcomes. */
async function readingsCounted(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(READINGS_COUNTER)) sum += Number(match[1]);
  return sum;
}

/** Until the service has subscribed: probe readings (an unknown sensor, unscored) until one is counted. */
async function waitForSubscriber(api: string, publisher: RawPublisher): Promise<void> {
  const before = await readingsCounted(api);
  const [probe] = RawPublisher.encode([{ topic: 'sensors/PROBE/readings', payload: JSON.stringify({ value: 1 }) }]);
  for (let attempt = 0; attempt < 100; attempt++) {
    await publisher.publish([probe!], 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if ((await readingsCounted(api)) > before) return;
  }
  throw new Error('the service never counted a reading: is it subscribed?');
}

/** Waits until `count()` has not changed for `quietMs`. */
async function settle(count: () => number, quietMs: number): Promise<void> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}

function nextMessage<T = unknown>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Record<string, unknown>) => {
      if (!(key in message)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`the bare subscriber exited (${code}) before '${key}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function post(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
}

// n/a: no CPU time measurable (not Linux, or a burst shorter than a clock tick, as in --smoke).
const fmt = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const ratioText = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');
const ms = (value: number) => value.toFixed(1).padStart(7);

void main().catch((error: unknown) => {
  console.error(`bench:ingest: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
