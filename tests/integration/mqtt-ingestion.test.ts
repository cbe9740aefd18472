import request from 'supertest';
import { ALERT_STATE_REPOSITORY } from '../../src/application/ports/alert-state.repository';
import { MqttReadingsSubscriber } from '../../src/interfaces/mqtt/mqtt-readings.subscriber';
import { InMemoryAlertStateRepository } from '../support/in-memory-alert-state.repository';
import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';
import { connectTestClient, metricValue, until, type TestMqttClient } from '../support/mqtt-test-client';
import { createTestApp, type TestApp } from '../support/test-app';

// The MQTT edge in one process against a real Mosquitto: the real app over a SQLite file; the
// storage outage plays with the in-memory stand-in of the alert states (its `reachable` switch).
// Model: fit [10, 5, 6, 9] -> mean 7.5, sample std sqrt(17/3) = 2.3804761428476167,
// threshold 7.5 + 2 * 2.3804761428476167 = 12.260952285695232: 13 is an alert, 12 is not.
const THRESHOLD = 7.5 + 2 * Math.sqrt(17 / 3);
const MEAN = 7.5;
const STD = Math.sqrt(17 / 3);

describeWithMosquitto('MQTT ingestion (one process, real broker)', () => {
  let broker: MosquittoBroker;
  let group = 0;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker.dispose());

  interface Running {
    readonly test: TestApp;
    readonly states: InMemoryAlertStateRepository;
    readonly peer: TestMqttClient;
    metrics(): Promise<string>;
    close(): Promise<void>;
  }

  /**
   * The app (alert states in its SQLite file, or in the stand-in with `standIn`), fitted for SEN1
   * (metrics value, params.velRMS.x and constructor), consuming; a peer client subscribed to the alerts.
   */
  async function start(env: NodeJS.ProcessEnv = {}, standIn = false): Promise<Running> {
    const states = new InMemoryAlertStateRepository();
    // Each its own group, session and alerts topic: what another test left (a session taking a
    // share of the readings, retained events) must not reach it.
    group++;
    const test = await createTestApp({
      env: { MQTT_URL: broker.url, MQTT_SHARE_GROUP: `g${group}`, MQTT_CLIENT_ID: `ingest-${process.pid}-${group}`, MQTT_ALERTS_TOPIC: `alerts${group}/{sensor_id}`, ...env },
      configure: (container) => {
        if (standIn) container.register(ALERT_STATE_REPOSITORY, { useValue: states });
      },
    });
    for (const query of ['', '?metric=params.velRMS.x', '?metric=constructor']) {
      await request(test.app).post(`/SEN1/fit${query}`).send({ values: [10, 5, 6, 9] }).expect(200);
    }
    const peer = await connectTestClient(broker.url);
    await peer.subscribe(`alerts${group}/+`);
    test.container.resolve(MqttReadingsSubscriber).start();
    await until(async () => (await request(test.app).get('/ready')).body.mqtt === 'connected');
    return {
      test,
      states,
      peer,
      metrics: async () => (await request(test.app).get('/metrics').expect(200)).text,
      close: async () => {
        await test.container.resolve(MqttReadingsSubscriber).stop();
        await peer.close();
        await test.close();
      },
    };
  }

  const ingested = (text: string, outcome: string) => metricValue(text, `sensor_readings_ingested_total{outcome="${outcome}"}`);

  it('scores each message shape and publishes each transition, retained, as the event JSON', async () => {
    const running = await start();
    try {
      const at = '2026-11-30T12:00:00.000Z';
      await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ value: 13, at }));
      const [raised] = await running.peer.waitFor(1);
      expect(raised!.topic).toBe(`alerts${group}/SEN1`);
      expect(JSON.parse(raised!.payload)).toEqual({ sensor_id: 'SEN1', metric: 'value', state: 'raised', value: 13, threshold: THRESHOLD, mean: MEAN, std: STD, z_score: (13 - MEAN) / STD, at });

      await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ metric: 'params.velRMS.x', value: 12.5 }));
      const [, second] = await running.peer.waitFor(2);
      const event = JSON.parse(second!.payload);
      expect(event).toMatchObject({ sensor_id: 'SEN1', metric: 'params.velRMS.x', state: 'raised', value: 12.5 });
      // No "at": the receipt time.
      expect(Math.abs(Date.parse(event.at) - Date.now())).toBeLessThan(10_000);

      // One collect: `value` clears (12 < threshold), `constructor` raises, a metric without a model is unscored.
      await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ readings: { value: 12, constructor: 100, 'no.model': 1 }, at }));
      const events = (await running.peer.waitFor(4)).slice(2).map((message) => JSON.parse(message.payload));
      expect(events.map((e) => [e.metric, e.state])).toEqual([['value', 'cleared'], ['constructor', 'raised']]);

      const text = await running.metrics();
      expect([ingested(text, 'alert'), ingested(text, 'no_alert'), ingested(text, 'unscored'), ingested(text, 'invalid')]).toEqual([3, 1, 1, 0]);
      expect([metricValue(text, 'alert_transitions_total{state="raised"}'), metricValue(text, 'alert_transitions_total{state="cleared"}')]).toEqual([3, 1]);
      expect(metricValue(text, 'mqtt_broker_connected')).toBe(1);
      expect(metricValue(text, 'reading_scoring_lag_seconds_count')).toBe(3);

      // Retained: a subscriber that comes later gets the sensor's latest transition at once.
      const late = await connectTestClient(broker.url);
      await late.subscribe(`alerts${group}/SEN1`);
      const [retained] = await late.waitFor(1);
      await late.close();
      expect(retained!.retain).toBe(true);
      expect(JSON.parse(retained!.payload)).toMatchObject({ metric: 'constructor', state: 'raised' });
    } finally {
      await running.close();
    }
  });

  it('counts and refuses malformed messages, and goes on consuming', async () => {
    const running = await start();
    try {
      const bad: Array<[string, string | Buffer]> = [
        ['sensors/SEN1/readings', 'not json'],
        ['sensors/SEN1/readings', '[13]'],
        ['sensors/SEN1/readings', '{"value": "13"}'],
        ['sensors/SEN1/readings', '{"value": 1e999}'],
        ['sensors/SEN1/readings', '{"value": 13, "unit": "mm/s"}'],
        ['sensors/SEN1/readings', '{"metric": "bad metric", "value": 13}'],
        ['sensors/SEN1/readings', '{"readings": {"__proto__": 13}}'],
        ['sensors/SEN1/readings', '{"readings": {}}'],
        ['sensors/SEN1/readings', '{"value": 13, "at": "yesterday"}'],
        ['sensors/SEN1/readings', '{"value": 13, "at": "2026-11-30T12:00:00"}'],
        ['sensors/-bad/readings', '{"value": 13}'],
        ['sensors/SEN1/readings', Buffer.alloc(64 * 1024 + 1, 0x20)],
      ];
      for (const [topic, payload] of bad) await running.peer.publish(topic, payload);
      await running.peer.publish('sensors/SEN1/readings', '{"value": 13}');
      await running.peer.waitFor(1);
      const text = await running.metrics();
      expect(ingested(text, 'invalid')).toBe(bad.length);
      expect(ingested(text, 'alert')).toBe(1);
      const reasons = ['not_json', 'shape', 'not_finite', 'metric', 'at', 'sensor_id', 'too_large'].map((reason) => metricValue(text, `mqtt_invalid_messages_total{reason="${reason}"}`));
      expect(reasons).toEqual([1, 4, 1, 2, 2, 1, 1]);
    } finally {
      await running.close();
    }
  });

  it('debounces: ALERT_RAISE_AFTER=2 readings at or above raise, ALERT_CLEAR_AFTER=3 below clear', async () => {
    const running = await start({ ALERT_RAISE_AFTER: '2', ALERT_CLEAR_AFTER: '3' });
    try {
      // 13 alone raises nothing; 13, 13 raises; then 12, 12, 13 (interrupted), 12, 12, 12 clears.
      for (const value of [13, 12, 13, 13]) await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ value }));
      const [raised] = await running.peer.waitFor(1);
      expect(JSON.parse(raised!.payload)).toMatchObject({ state: 'raised', value: 13 });
      for (const value of [12, 12, 13, 12, 12]) await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ value }));
      await until(async () => ingested(await running.metrics(), 'no_alert') === 5);
      expect(running.peer.received).toHaveLength(1);
      await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ value: 11 }));
      const [, cleared] = await running.peer.waitFor(2);
      expect(JSON.parse(cleared!.payload)).toMatchObject({ state: 'cleared', value: 11 });
    } finally {
      await running.close();
    }
  });

  it('keeps readings unacknowledged while storage refuses, and stores them once it serves again', async () => {
    const running = await start({}, true);
    try {
      running.states.reachable = false;
      await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ value: 13 }));
      await running.peer.publish('sensors/SEN1/readings', JSON.stringify({ value: 12 }));
      // The batch is retried with backoff; nothing is counted or published meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(ingested(await running.metrics(), 'alert')).toBe(0);
      expect(running.peer.received).toHaveLength(0);
      running.states.reachable = true;
      const events = (await running.peer.waitFor(2)).map((message) => JSON.parse(message.payload).state);
      expect(events).toEqual(['raised', 'cleared']);
      const text = await running.metrics();
      expect([ingested(text, 'alert'), ingested(text, 'no_alert')]).toEqual([1, 1]);
    } finally {
      await running.close();
    }
  });
});
