import { join } from 'node:path';
import { copyFileSync, rmSync } from 'node:fs';
import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';
import { connectTestClient, metricValue, until, type TestMqttClient } from '../support/mqtt-test-client';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { startTcpRelay } from '../support/tcp-relay';
import { makeTempDir } from '../support/test-app';

// The retained alert message of a model must end up saying its stored state, whatever order
// messages reached the broker in. A late message from another replica is played here by a
// test client publishing, retained, an event the service sent earlier: deterministic, where
// two racing replicas are not. Models: fit [10, 5, 6, 9], threshold 7.5 + 2 * sqrt(17/3) =
// 12.26...: 13 raises, 12 clears.

jest.setTimeout(60_000);

const RECONCILE_MS = 200;

interface AlertMessage {
  sensor_id: string;
  metric: string;
  state: string;
  value: number;
  at: string;
  reason?: string;
}

describeWithMosquitto('retained alert messages kept true to the stored states', () => {
  let broker: MosquittoBroker;
  let dir: string;
  let peer: TestMqttClient;
  let run = 0;
  let topic = '';
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    broker = await startMosquitto();
    dir = makeTempDir();
  });
  afterEach(async () => {
    await peer?.close();
    for (const server of servers.splice(0)) server.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Each test its own database, session, group and alerts topic. */
  function settings(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    run++;
    topic = `retained${run}`;
    return {
      PORT: '0',
      HOST: '127.0.0.1',
      DB_PATH: join(dir, `run${run}.db`),
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `service-${process.pid}-${run}`,
      MQTT_SHARE_GROUP: `service${run}`,
      MQTT_ALERTS_TOPIC: `${topic}/{sensor_id}`,
      MQTT_ALERTS_RECONCILE_MS: String(RECONCILE_MS),
      ...extra,
    };
  }

  async function serve(env: NodeJS.ProcessEnv): Promise<{ server: ServerProcess; url: string }> {
    const server = spawnServer(env);
    servers.push(server);
    const url = await waitForListening(server);
    await until(async () => ((await (await fetch(`${url}/ready`)).json()) as { mqtt?: string }).mqtt === 'connected');
    return { server, url };
  }

  async function stop(server: ServerProcess): Promise<void> {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toBe('');
  }

  const fit = async (url: string, sensor: string, metric = 'value') => {
    const answer = await fetch(`${url}/${sensor}/fit?metric=${metric}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
    expect(answer.status).toBe(200);
  };
  const corrections = async (url: string) => metricValue(await (await fetch(`${url}/metrics`)).text(), 'mqtt_retained_alert_corrections_total');
  const republished = async (url: string) => metricValue(await (await fetch(`${url}/metrics`)).text(), 'mqtt_retained_alert_raises_republished_total');
  const messages = () => peer.received.map((message) => JSON.parse(message.payload) as AlertMessage);
  const publishRetained = (sensor: string, payload: string) => peer.client.publishAsync(`${topic}/${sensor}`, payload, { qos: 1, retain: true });
  /** What a subscriber arriving now is given: the retained message of each sensor's topic. */
  async function retainedNow(sensors: readonly string[]): Promise<Record<string, AlertMessage>> {
    const fresh = await connectTestClient(broker.url);
    try {
      await fresh.subscribe(`${topic}/+`);
      await fresh.waitFor(sensors.length);
      return Object.fromEntries(fresh.received.map((message) => [message.topic.split('/')[1], JSON.parse(message.payload) as AlertMessage]));
    } finally {
      await fresh.close();
    }
  }
  /** Serves `env`, fits SEN1, and raises it with a reading of 13, the peer watching the alerts topics. */
  async function serveRaised(env: NodeJS.ProcessEnv): Promise<{ server: ServerProcess; url: string }> {
    const served = await serve(env);
    await fit(served.url, 'SEN1');
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    await peer.publish('sensors/SEN1/readings', '{"value": 13}');
    await peer.waitFor(1);
    return served;
  }
  /**
   * Two deployments (each its own share group) with SEN1 fitted: both score a reading of 13
   * and raise it, the peer watching; then the one at `deleting` deletes the model.
   */
  async function raiseOnBothThenDelete(deleting: string): Promise<void> {
    // Past their subscriptions' first check: what the broker retained then is checked like their own.
    await quiet();
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    await peer.publish('sensors/SEN1/readings', '{"value": 13}');
    await peer.waitFor(2);
    expect((await fetch(`${deleting}/SEN1/weights`, { method: 'DELETE' })).status).toBe(200);
  }
  /** Fits SEN1's value and m2 and raises both in one message, the peer watching (two events). */
  async function raiseTwoMetrics(url: string): Promise<void> {
    await fit(url, 'SEN1');
    await fit(url, 'SEN1', 'm2');
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    await peer.publish('sensors/SEN1/readings', '{"readings": {"value": 13, "m2": 13}}');
    await peer.waitFor(2);
  }
  /** Waits for a few reconcile periods: anything still to come would have come. */
  const quiet = () => new Promise((resolve) => setTimeout(resolve, 5 * RECONCILE_MS));

  it('puts back the stored state over a late raised, and over a late cleared, once each', async () => {
    const { server, url } = await serve(settings());
    await fit(url, 'SEN1');
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    await peer.publish('sensors/SEN1/readings', '{"value": 13, "at": "2026-11-30T12:00:01Z"}');
    await peer.waitFor(1);
    await peer.publish('sensors/SEN1/readings', '{"value": 12, "at": "2026-11-30T12:00:02Z"}');
    const [raised, cleared] = await peer.waitFor(2);

    // The raise arrives again, after the clear, as another replica's late message would.
    await publishRetained('SEN1', raised!.payload);
    await peer.waitFor(4);
    expect(messages().slice(2).map(({ state, value, at }) => [state, value, at])).toEqual([
      ['raised', 13, '2026-11-30T12:00:01.000Z'],
      ['cleared', 12, '2026-11-30T12:00:02.000Z'],
    ]);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'cleared', value: 12 });

    await peer.publish('sensors/SEN1/readings', '{"value": 14, "at": "2026-11-30T12:00:03Z"}');
    await peer.waitFor(5);
    await publishRetained('SEN1', cleared!.payload);
    await peer.waitFor(7);
    expect(messages().slice(4).map(({ state, value }) => [state, value])).toEqual([
      ['raised', 14],
      ['cleared', 12],
      ['raised', 14],
    ]);
    await quiet();
    expect(peer.received).toHaveLength(7);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'raised', value: 14 });
    expect(await corrections(url)).toBe(2);
    expect(server.stdout()).toContain('"msg":"retained alert messages corrected to the stored state"');
    await stop(server);
  });

  it('at start: publishes a raised state whose retained message is gone, and clears one left raised for a model deleted', async () => {
    const env = settings();
    let { server, url } = await serve(env);
    for (const sensor of ['SEN1', 'SEN2']) await fit(url, sensor);
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    await peer.publish('sensors/SEN1/readings', '{"value": 13}');
    await peer.publish('sensors/SEN2/readings', '{"value": 13}');
    const raised = await peer.waitFor(2);
    expect((await fetch(`${url}/SEN2/weights`, { method: 'DELETE' })).status).toBe(200);
    await peer.waitFor(3);
    expect(messages()[2]).toMatchObject({ sensor_id: 'SEN2', state: 'cleared', reason: 'model_deleted' });
    await stop(server);

    // While it is away: SEN1's retained message is removed, and SEN2's clear is lost (its raise is back).
    await peer.close();
    peer = await connectTestClient(broker.url);
    await publishRetained('SEN1', '');
    await publishRetained('SEN2', raised.find((message) => message.topic.endsWith('/SEN2'))!.payload);
    ({ server, url } = await serve(env));
    await until(async () => (await corrections(url)) === 2);
    const now = await retainedNow(['SEN1', 'SEN2']);
    expect(now.SEN1).toMatchObject({ state: 'raised', value: 13 });
    expect(now.SEN2).toMatchObject({ state: 'cleared', value: 13, reason: 'model_deleted' });
    await stop(server);
  });

  it('puts back a raised state whose retained message is removed while it runs', async () => {
    const { server, url } = await serveRaised(settings());
    await publishRetained('SEN1', '');
    await until(async () => (await corrections(url)) === 1);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'raised', value: 13 });
    await stop(server);
  });

  it('goes by what the broker retains: a message published without the retain flag hides no wrong retained one', async () => {
    const { server, url } = await serveRaised(settings());
    await peer.publish('sensors/SEN1/readings', '{"value": 12}');
    const [raised, cleared] = await peer.waitFor(2);
    // A late raise, retained, then the true state again, but not retained: the broker keeps the raise.
    await publishRetained('SEN1', raised!.payload);
    await peer.client.publishAsync(`${topic}/SEN1`, cleared!.payload, { qos: 1, retain: false });
    await until(async () => (await corrections(url)) === 1);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'cleared', value: 12 });
    await stop(server);
  });

  it('leaves alone the events of another database published while it runs, and says so: no correction either way', async () => {
    const first = await serve(settings());
    const shared = topic;
    const second = await serve({ ...settings(), MQTT_ALERTS_TOPIC: `${shared}/{sensor_id}` });
    topic = shared;
    for (const { url } of [first, second]) await fit(url, 'SEN1');
    await raiseOnBothThenDelete(second.url);
    await peer.waitFor(3);
    await quiet();
    await quiet();
    // Without telling them apart, the first would put its raise back, the second its clear, and so on.
    expect(messages().map(({ state }) => state)).toEqual(['raised', 'raised', 'cleared']);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'cleared', reason: 'model_deleted' });
    for (const { server, url } of [first, second]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(metricValue(text, 'mqtt_retained_alert_corrections_total')).toBe(0);
      expect(metricValue(text, 'mqtt_foreign_alert_events_total')).toBeGreaterThan(0);
      expect(server.stdout()).toContain('"checked":false');
      expect(server.stdout()).toContain('"msg":"alert event of another database on our alerts topics (replicas that share MQTT_ALERTS_TOPIC must share one database)"');
    }
    // The other database's message removed: the first puts back its raise (the second, its model deleted, has nothing to say).
    await publishRetained('SEN1', '');
    await until(async () => (await corrections(first.url)) === 1);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'raised', value: 13 });
    expect(await corrections(second.url)).toBe(0);
    for (const { server } of [first, second]) await stop(server);
  });

  it('two deployments on copies of one database (one identity) stop correcting each other after two corrections of one message', async () => {
    const env = settings();
    const original = await serve(env);
    await fit(original.url, 'SEN1');
    await stop(original.server);
    const copy = join(dir, `run${run}-copy.db`);
    copyFileSync(env.DB_PATH!, copy);
    const first = await serve(env);
    const second = await serve({ ...env, DB_PATH: copy, MQTT_CLIENT_ID: `${env.MQTT_CLIENT_ID}-copy`, MQTT_SHARE_GROUP: `${env.MQTT_SHARE_GROUP}-copy` });
    // The copy deletes the model: to the first the clear is wrong, to the copy the raise.
    await raiseOnBothThenDelete(second.url);
    const made = async () => (await corrections(first.url)) + (await corrections(second.url));
    await until(async () => (await made()) >= 4);
    await quiet();
    await quiet();
    const settled = peer.received.length;
    await quiet();
    expect(peer.received.length).toBe(settled);
    expect(await made()).toBe(4);
    const withheld = await Promise.all([first, second].map(async ({ url }) => metricValue(await (await fetch(`${url}/metrics`)).text(), 'mqtt_retained_alert_corrections_withheld_total')));
    expect(withheld[0]! + withheld[1]!).toBeGreaterThanOrEqual(1);
    expect(first.server.stdout() + second.server.stdout()).toContain('"msg":"retained alert message corrected twice came back again');
    for (const { server } of [first, second]) await stop(server);
  });

  it("at start, checks the events a replaced database left retained like its own, then leaves another database's alone", async () => {
    const env = settings();
    let { server, url } = await serveRaised(env);
    await stop(server);
    // A new database on the same topics (the file deleted, a fresh start): it has no alert raised.
    ({ server, url } = await serve({ ...env, DB_PATH: join(dir, `run${run}-new.db`) }));
    await until(async () => (await corrections(url)) === 1);
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'cleared', value: 13 });
    expect(metricValue(await (await fetch(`${url}/metrics`)).text(), 'mqtt_foreign_alert_events_total')).toBe(1);
    expect(server.stdout()).toContain('"checked":true');
    await stop(server);
  });

  it('checks every model within ten periods of a subscription, however busy the alerts topics are', async () => {
    const env = settings();
    let { server, url } = await serveRaised(env);
    await stop(server);
    await publishRetained('SEN1', '');
    // A retained event every half period on another topic, true to its (absent) model: nothing to correct there.
    const event = { sensor_id: 'SEN2', metric: 'value', state: 'cleared', value: 1, threshold: 12.26, mean: 7.5, std: 2.38, z_score: -2.7, at: '2026-11-30T12:00:01.000Z' };
    const busy = setInterval(() => void publishRetained('SEN2', JSON.stringify(event)).catch(() => undefined), RECONCILE_MS / 2);
    try {
      ({ server, url } = await serve(env));
      await until(async () => (await corrections(url)) === 1, 20 * RECONCILE_MS);
    } finally {
      clearInterval(busy);
    }
    expect((await retainedNow(['SEN1'])).SEN1).toMatchObject({ state: 'raised', value: 13 });
    await stop(server);
  });

  it('two replicas starting together on the same wrong messages mostly leave each correction to the first of them', async () => {
    const first = settings();
    const second = { ...first, MQTT_CLIENT_ID: `${first.MQTT_CLIENT_ID}-b` };
    let replicas = [await serve(first), await serve(second)];
    const sensors = Array.from({ length: 200 }, (_, index) => `SEN${index + 1}`);
    for (const [index, sensor] of sensors.entries()) await fit(replicas[index % 2]!.url, sensor);
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    for (const sensor of sensors) await peer.publish(`sensors/${sensor}/readings`, '{"value": 13}');
    const raised = await peer.waitFor(sensors.length);
    for (const { server } of replicas) await stop(server);
    // Every retained message turned wrong while they were away: both find all of them wrong at the same time.
    await Promise.all(raised.map((message) => peer.client.publishAsync(message.topic, message.payload.replace('"state":"raised"', '"state":"cleared"'), { qos: 1, retain: true })));
    replicas = await Promise.all([serve(first), serve(second)]);
    const stillWrong = async () => Object.values(await retainedNow(sensors)).filter((message) => message.state !== 'raised').length;
    await until(async () => (await stillWrong()) === 0);
    await quiet();
    const made = await Promise.all(replicas.map(({ url }) => corrections(url)));
    // Both at once would make 400; one each, 200.
    expect(made[0]! + made[1]!).toBeLessThan(300);
    for (const { server } of replicas) await stop(server);
  });

  it("a sensor's topic shared by its metrics: another metric's later event is not a missing one", async () => {
    const env = settings();
    let { server, url } = await serve(env);
    await raiseTwoMetrics(url);
    await quiet();
    await stop(server);
    // At the next start every model is checked: both are raised, the topic holds one of them.
    ({ server, url } = await serve(env));
    await quiet();
    expect(await corrections(url)).toBe(0);
    expect(peer.received).toHaveLength(2);
    await stop(server);
  });

  it("a sensor's topic shared by its metrics keeps telling a raised metric after another metric clears or is deleted", async () => {
    const { server, url } = await serve(settings());
    await raiseTwoMetrics(url);
    // m2 clears: its event is the topic's latest, and would tell a subscriber arriving now that SEN1 is clear.
    await peer.publish('sensors/SEN1/readings', '{"readings": {"m2": 5}}');
    await peer.waitFor(3);
    expect(messages()[2]).toMatchObject({ metric: 'm2', state: 'cleared' });
    await peer.waitFor(4);
    expect(messages()[3]).toMatchObject({ metric: 'value', state: 'raised', value: 13 });
    expect(await retainedNow(['SEN1'])).toEqual({ SEN1: expect.objectContaining({ metric: 'value', state: 'raised' }) });
    // m2 raised again, then deleted: its model_deleted clear is followed by the raise of value again.
    await peer.publish('sensors/SEN1/readings', '{"readings": {"m2": 14}}');
    await peer.waitFor(5);
    expect((await fetch(`${url}/SEN1/weights?metric=m2`, { method: 'DELETE' })).status).toBe(200);
    await peer.waitFor(7);
    expect(messages().slice(4)).toEqual([
      expect.objectContaining({ metric: 'm2', state: 'raised', value: 14 }),
      expect.objectContaining({ metric: 'm2', state: 'cleared', reason: 'model_deleted' }),
      expect.objectContaining({ metric: 'value', state: 'raised', value: 13 }),
    ]);
    await quiet();
    expect(peer.received).toHaveLength(7);
    // The ordinary course on a sensor's topic: raises published again, not corrections.
    expect(await corrections(url)).toBe(0);
    expect(await republished(url)).toBe(2);
    await stop(server);
  });

  it("a sensor's topic: a metric raised and deleted again and again never stops the other metric's raise from coming back", async () => {
    const { server, url } = await serve(settings());
    await fit(url, 'SEN1', 'b');
    peer = await connectTestClient(broker.url);
    await peer.subscribe(`${topic}/+`);
    await peer.publish('sensors/SEN1/readings', '{"metric": "b", "value": 13}');
    await peer.waitFor(1);
    for (let cycle = 1; cycle <= 4; cycle++) {
      await fit(url, 'SEN1', 'a');
      await peer.publish('sensors/SEN1/readings', '{"metric": "a", "value": 13}');
      await peer.waitFor(1 + 3 * cycle - 2);
      expect((await fetch(`${url}/SEN1/weights?metric=a`, { method: 'DELETE' })).status).toBe(200);
      await peer.waitFor(1 + 3 * cycle);
      expect(messages().slice(-2)).toEqual([
        expect.objectContaining({ metric: 'a', state: 'cleared', reason: 'model_deleted' }),
        expect.objectContaining({ metric: 'b', state: 'raised', value: 13 }),
      ]);
    }
    await quiet();
    expect(peer.received).toHaveLength(13);
    expect(await retainedNow(['SEN1'])).toEqual({ SEN1: expect.objectContaining({ metric: 'b', state: 'raised' }) });
    expect(await republished(url)).toBe(4);
    expect(metricValue(await (await fetch(`${url}/metrics`)).text(), 'mqtt_retained_alert_corrections_withheld_total')).toBe(0);
    await stop(server);
  });

  it('judges nothing while the broker is away: its own events wait for it, and are not corrected twice', async () => {
    const relay = await startTcpRelay(broker.url);
    const { server, url } = await serve(settings({ MQTT_URL: relay.url.replace(/\/$/, '') }));
    let again: Awaited<ReturnType<typeof startTcpRelay>> | undefined;
    try {
      await fit(url, 'SEN1');
      peer = await connectTestClient(broker.url);
      await peer.subscribe(`${topic}/+`);
      await peer.publish('sensors/SEN1/readings', '{"value": 13}');
      await peer.waitFor(1);
      relay.close();
      await until(async () => ((await (await fetch(`${url}/ready`)).json()) as { mqtt?: string }).mqtt === 'reconnecting');
      // The clear waits in memory; the raise is what this replica saw last on the topic.
      expect((await fetch(`${url}/SEN1/weights`, { method: 'DELETE' })).status).toBe(200);
      await quiet();
      again = await startTcpRelay(broker.url, Number(new URL(relay.url).port));
      await until(async () => ((await (await fetch(`${url}/ready`)).json()) as { mqtt?: string }).mqtt === 'connected', 20_000);
      await until(() => messages().some((message) => message.state === 'cleared'));
      await quiet();
      // The raise may come twice: the cut can take its PUBACK, and QoS 1 sends it again.
      const states = messages().map(({ state, reason }) => `${state} ${reason ?? ''}`);
      expect(states.filter((state, index) => state !== states[index - 1])).toEqual(['raised ', 'cleared model_deleted']);
      expect(await corrections(url)).toBe(0);
      await stop(server);
    } finally {
      again?.close();
    }
  });

  it('leaves alone what is not its own alert event, and checks nothing with MQTT_ALERTS_RECONCILE_MS=0', async () => {
    const env = settings();
    const { server, url } = await serve(env);
    await fit(url, 'SEN1');
    peer = await connectTestClient(broker.url);
    const event = { sensor_id: 'SEN1', metric: 'value', state: 'raised', value: 13, threshold: 12.26, mean: 7.5, std: 2.38, z_score: 2.3, at: '2026-11-30T12:00:01.000Z' };
    await publishRetained('SEN1', 'not json');
    await publishRetained('SEN2', JSON.stringify(event)); // names SEN1, on SEN2's topic
    await publishRetained('SEN3', JSON.stringify({ ...event, sensor_id: 'SEN3', state: 'up' }));
    await quiet();
    expect(await corrections(url)).toBe(0);
    await stop(server);

    // The same session, whose alerts subscription the broker kept: dropped, its events not taken for readings.
    const off = await serve({ ...env, MQTT_ALERTS_RECONCILE_MS: '0' });
    await until(() => off.server.stdout().includes('"msg":"retained alert messages not checked (MQTT_ALERTS_RECONCILE_MS=0)"'));
    await publishRetained('SEN1', JSON.stringify(event));
    await quiet();
    expect((await retainedNow(['SEN1', 'SEN2', 'SEN3'])).SEN1).toMatchObject({ state: 'raised' });
    const text = await (await fetch(`${off.url}/metrics`)).text();
    expect([metricValue(text, 'mqtt_retained_alert_corrections_total'), metricValue(text, 'sensor_readings_ingested_total{outcome="invalid"}')]).toEqual([0, 0]);
    await stop(off.server);
  });
});
