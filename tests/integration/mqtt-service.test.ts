import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';
import { connectTestClient, metricValue, until, type TestMqttClient } from '../support/mqtt-test-client';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay';
import { makeTempDir } from '../support/test-app';

// The real server process against a real Mosquitto: start with the broker away, restarts of
// the service and of the broker, SIGTERM. Model of SEN1/value: fit [10, 5, 6, 9], threshold
// 7.5 + 2 * sqrt(17/3) = 12.26...: 13 is an alert, 12 is not.

jest.setTimeout(60_000);

describeWithMosquitto('MQTT ingestion in the real server process', () => {
  let broker: MosquittoBroker;
  let dir: string;
  let peer: TestMqttClient;
  let run = 0;
  beforeAll(async () => {
    broker = await startMosquitto();
    dir = makeTempDir();
  });
  afterAll(async () => {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await peer?.close();
  });

  /** Each test its own database, session, group and alerts topic. */
  function settings(mqttUrl: string): NodeJS.ProcessEnv {
    run++;
    return {
      PORT: '0',
      HOST: '127.0.0.1',
      DB_PATH: join(dir, `run${run}.db`),
      MQTT_URL: mqttUrl,
      MQTT_CLIENT_ID: `service-${process.pid}-${run}`,
      MQTT_SHARE_GROUP: `service${run}`,
      MQTT_ALERTS_TOPIC: `alerts${run}/{sensor_id}`,
    };
  }

  async function serve(env: NodeJS.ProcessEnv): Promise<{ server: ServerProcess; url: string }> {
    const server = spawnServer(env);
    return { server, url: await waitForListening(server) };
  }

  async function stop(server: ServerProcess): Promise<void> {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toBe('');
  }

  const fit = async (url: string) => {
    const answer = await fetch(`${url}/SEN1/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
    expect(answer.status).toBe(200);
  };
  const ready = async (url: string) => (await (await fetch(`${url}/ready`)).json()) as { status: string; mqtt?: string };
  const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
  const ingested = (text: string, outcome: string) => metricValue(text, `sensor_readings_ingested_total{outcome="${outcome}"}`);
  const logLines = (server: ServerProcess, msg: string) => server.stdout().split('\n').filter((line) => line.includes(`"msg":"${msg}"`));
  const events = () => peer.received.map((message) => JSON.parse(message.payload) as { state: string; value: number });

  it('starts and serves HTTP with the broker away, logs that once, and consumes once it comes', async () => {
    // A relay that is not listening yet: the service's broker is unreachable.
    const port = await startTcpRelay(broker.url).then((relay) => {
      relay.close();
      return Number(new URL(relay.url).port);
    });
    const env = settings(`mqtt://127.0.0.1:${port}`);
    const { server, url } = await serve(env);
    try {
      await fit(url);
      expect(await ready(url)).toEqual({ status: 'ready', mqtt: 'connecting' });
      // Several attempts (0.5 s, 1 s, 2 s...): one line.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(logLines(server, 'MQTT broker not reachable yet; retrying with backoff')).toHaveLength(1);
      expect(metricValue(await metrics(url), 'mqtt_broker_connected')).toBe(0);

      const relay = await startTcpRelay(broker.url, port);
      try {
        await until(async () => (await ready(url)).mqtt === 'connected', 20_000);
        peer = await connectTestClient(broker.url);
        await peer.subscribe(`alerts${run}/+`);
        await peer.publish('sensors/SEN1/readings', '{"value": 13}');
        expect((await peer.waitFor(1)).map((message) => JSON.parse(message.payload).state)).toEqual(['raised']);
        expect(logLines(server, 'MQTT connected')).toHaveLength(1);
        expect(metricValue(await metrics(url), 'mqtt_broker_connected')).toBe(1);
        await stop(server);
      } finally {
        relay.close();
      }
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('two processes on one MQTT_CLIENT_ID: the connection they take from each other is logged with that likely cause', async () => {
    const env = settings(broker.url);
    const first = await serve(env);
    const second = await serve({ ...env, DB_PATH: join(dir, `run${run}-second.db`) });
    try {
      const hinted = () => [first.server, second.server].flatMap((server) => logLines(server, 'MQTT connection lost; reconnecting with backoff')).find((line) => line.includes('"hint"'));
      await until(async () => hinted() !== undefined, 30_000);
      expect(JSON.parse(hinted()!)).toMatchObject({
        level: 'warn',
        error: 'connection closed',
        hint: expect.stringMatching(new RegExp(`^closed by the broker [3-9] times in 60 s without a reason: a broker does that when another client connects with the same MQTT_CLIENT_ID \\("${env.MQTT_CLIENT_ID}"\\); give each replica its own$`)),
      });
    } finally {
      await stop(second.server);
      await stop(first.server);
    }
  });

  it('keeps alert states across a restart of the service: no second raise, the alert not forgotten', async () => {
    const env = settings(broker.url);
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`alerts${run}/+`);
    let { server, url } = await serve(env);
    await fit(url);
    await until(async () => (await ready(url)).mqtt === 'connected');
    await peer.publish('sensors/SEN1/readings', '{"value": 13}');
    await peer.waitFor(1);
    await stop(server);

    ({ server, url } = await serve(env));
    await until(async () => (await ready(url)).mqtt === 'connected');
    expect(await (await fetch(`${url}/alerts/active`)).json()).toEqual([expect.objectContaining({ sensor_id: 'SEN1', metric: 'value', last_value: 13 })]);
    await peer.publish('sensors/SEN1/readings', '{"value": 14}');
    await until(async () => ingested(await metrics(url), 'alert') === 1);
    await peer.publish('sensors/SEN1/readings', '{"value": 12}');
    await peer.waitFor(2);
    const active = await (await fetch(`${url}/alerts/active`)).json();
    await stop(server);
    expect(events().map((event) => [event.state, event.value])).toEqual([
      ['raised', 13],
      ['cleared', 12],
    ]);
    expect(active).toEqual([]);
  });

  it('subscribes again by itself after a broker restart that lost its session', async () => {
    const env = settings(broker.url);
    const { server, url } = await serve(env);
    try {
      await fit(url);
      await until(async () => (await ready(url)).mqtt === 'connected');
      await broker.restart({ forgetSessions: true });
      await until(async () => (await ready(url)).mqtt === 'connected', 20_000);
      peer = await connectTestClient(broker.url);
      await peer.subscribe(`alerts${run}/+`);
      // The subscription is made just after the connection: publish until a reading is taken.
      await until(
        async () => {
          await peer.publish('sensors/SEN1/readings', '{"value": 13}');
          return ingested(await metrics(url), 'alert') > 0;
        },
        10_000,
        () => 'a reading taken after the restart',
      );
      expect(logLines(server, 'MQTT subscribed')).toHaveLength(2);
      // The event goes through the broker after the reading is counted: wait for it.
      expect((await peer.waitFor(1)).map((message) => JSON.parse(message.payload).state)).toEqual(['raised']);
      await stop(server);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('gets the readings published while it was cut off, across a broker restart that kept its session', async () => {
    const relay: TcpRelay = await startTcpRelay(broker.url);
    const env = settings(relay.url.replace(/\/$/, ''));
    const { server, url } = await serve(env);
    let again: TcpRelay | undefined;
    try {
      await fit(url);
      await until(async () => (await ready(url)).mqtt === 'connected');
      peer = await connectTestClient(broker.url);
      await peer.subscribe(`alerts${run}/+`);

      relay.close();
      await until(async () => (await ready(url)).mqtt === 'reconnecting');
      // The session (and its subscription) waits at the broker, which keeps these for it.
      await peer.publish('sensors/SEN1/readings', '{"value": 13}');
      await peer.publish('sensors/SEN1/readings', '{"readings": {"value": 12}}');
      await broker.restart();
      await peer.close();
      peer = await connectTestClient(broker.url);
      await peer.subscribe(`alerts${run}/+`);

      again = await startTcpRelay(broker.url, Number(new URL(relay.url).port));
      await until(async () => (await ready(url)).mqtt === 'connected', 20_000);
      await peer.waitFor(2);
      // And what comes after: Mosquitto 2.0 keeps the session's queue but not its shared
      // subscription, so the service must subscribe again, though the session was present.
      await peer.publish('sensors/SEN1/readings', '{"value": 14}');
      await peer.waitFor(3);
      expect(events().map((event) => [event.state, event.value])).toEqual([
        ['raised', 13],
        ['cleared', 12],
        ['raised', 14],
      ]);
      expect(logLines(server, 'MQTT connection lost; reconnecting with backoff')).toHaveLength(1);
      await stop(server);
    } finally {
      server.child.kill('SIGKILL');
      again?.close();
    }
  });

  it('on SIGTERM with the broker away: shuts down in full after the grace, and says which events are lost', async () => {
    const relay: TcpRelay = await startTcpRelay(broker.url);
    // Not subscribed to its own events: the broker would send the service a copy of the raise
    // with its PUBACK, and the relay cut below could catch that PUBACK on its way (then the
    // raise counts as lost too).
    const { server, url } = await serve({ ...settings(relay.url.replace(/\/$/, '')), MQTT_ALERTS_RECONCILE_MS: '0' });
    try {
      await fit(url);
      await until(async () => (await ready(url)).mqtt === 'connected');
      peer = await connectTestClient(broker.url);
      await peer.subscribe(`alerts${run}/+`);
      await peer.publish('sensors/SEN1/readings', '{"value": 13}');
      await peer.waitFor(1);
      relay.close();
      await until(async () => (await ready(url)).mqtt === 'reconnecting');
      // Its clear waits for the broker in this process's memory.
      expect((await fetch(`${url}/SEN1/weights`, { method: 'DELETE' })).status).toBe(200);
      await stop(server);
      expect(logLines(server, 'alert events lost at shutdown: the broker never acknowledged them (GET /alerts/active has the current state)')).toEqual([
        expect.stringContaining('"events":1'),
      ]);
      expect(logLines(server, 'stopped')).toHaveLength(1);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('on SIGTERM finishes what it received and acknowledges it: a restart neither loses nor repeats a reading', async () => {
    const env = settings(broker.url);
    let { server, url } = await serve(env);
    await fit(url);
    await until(async () => (await ready(url)).mqtt === 'connected');
    peer = await connectTestClient(broker.url);
    const count = 3000;
    for (let i = 0; i < count; i++) void peer.publish('sensors/SEN1/readings', '{"value": 13}');
    // Stopped while the stream comes in.
    await until(async () => ingested(await metrics(url), 'alert') > 0);
    await stop(server);
    const storedBefore = stoppedTotals(server).alert;

    ({ server, url } = await serve(env));
    await until(async () => storedBefore + ingested(await metrics(url), 'alert') >= count, 20_000);
    // Nothing more comes: every reading was scored exactly once over the two runs.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(storedBefore + ingested(await metrics(url), 'alert')).toBe(count);
    await stop(server);
    expect(storedBefore).toBeGreaterThan(0);
  });
});

/** What a stopped server says it scored, from its last log line. */
function stoppedTotals(server: ServerProcess): { alert: number } {
  const line = server
    .stdout()
    .split('\n')
    .find((candidate) => candidate.includes('"msg":"live readings stopped"'));
  if (line === undefined) throw new Error(`no stop line in ${server.stdout()}`);
  return (JSON.parse(line) as { readings: { alert: number } }).readings;
}
