import type { IPublishPacket } from 'mqtt';
import type { IngestReadingsUseCase, IncomingReading, ReadingOutcome } from '../../../src/application/ingest-readings.use-case';
import type { Logger } from '../../../src/application/ports/logger';
import type { MqttConfig } from '../../../src/config';
import { ServiceMetrics } from '../../../src/infrastructure/metrics/service-metrics';
import type { MqttConnection } from '../../../src/interfaces/mqtt/mqtt-connection';
import { MqttReadingsSubscriber } from '../../../src/interfaces/mqtt/mqtt-readings.subscriber';
import { subscriptionIdentifierOf } from '../../../src/mqtt-topics';

// The subscriber's batching and acknowledgement, against a fake connection that records
// PUBACKs and a use case whose calls the test controls.

const CONFIG: MqttConfig = { url: 'mqtt://broker', readingsTopic: 'sensors/+/readings', shareGroup: 'g', alertsTopic: 'sensors/{sensor_id}/alerts', clientId: 'c', alertsReconcileMs: 1000 };

interface Harness {
  deliver(messageId: number, payload: string, topic?: string, subscriptionIdentifier?: number | number[]): void;
  readonly acks: number[];
  /** Messages acknowledged at once, by MQTT.js (the handler's callback without ACK_LATER). */
  readonly acknowledgedAtOnce: number[];
  /** The options of each subscription. */
  readonly subscribeOptions: unknown[];
  readonly calls: Array<readonly IncomingReading[]>;
  readonly subscriptions: string[];
  readonly logs: Array<[string, string]>;
  /** The fields of each log line, in the order of logs. */
  readonly logFields: Array<Record<string, unknown> | undefined>;
  readonly metrics: ServiceMetrics;
  readonly subscriber: MqttReadingsSubscriber;
  connect(sessionPresent: boolean): void;
  /** The next execute calls fail (one per entry that is true), then succeed. */
  failNext(times: number): void;
}

function harness(options: { ackFails?: boolean; identifiersUnavailable?: boolean } = {}): Harness {
  const acks: number[] = [];
  const calls: Array<readonly IncomingReading[]> = [];
  const subscriptions: string[] = [];
  const subscribeOptions: unknown[] = [];
  const acknowledgedAtOnce: number[] = [];
  const logs: Array<[string, string]> = [];
  const logFields: Array<Record<string, unknown> | undefined> = [];
  const listeners: Array<(sessionPresent: boolean) => void> = [];
  let failures = 0;
  const client = {
    handleMessage: undefined as unknown as (packet: IPublishPacket, callback: (error?: Error) => void) => void,
    subscribe: (filter: string, options: unknown, callback: (error: Error | null, granted: Array<{ topic: string; qos: number }>) => void) => {
      subscriptions.push(filter);
      subscribeOptions.push(options);
      callback(null, [{ topic: filter, qos: 1 }]);
    },
  };
  const connection = {
    client,
    connection: 1,
    subscriptionProperties: (identifier: number) => (options.identifiersUnavailable ? {} : { properties: { subscriptionIdentifier: identifier } }),
    onConnect: (listener: (sessionPresent: boolean) => void) => listeners.push(listener),
    onMessage: (handler: typeof client.handleMessage) => void (client.handleMessage = handler),
    start: () => undefined,
    ack: (messageId: number) => {
      if (options.ackFails) throw new Error('socket gone');
      return acks.push(messageId) > 0;
    },
    close: async () => undefined,
  };
  const ingest = {
    execute: async (readings: readonly IncomingReading[]): Promise<ReadingOutcome[]> => {
      calls.push(readings);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (failures > 0) {
        failures--;
        throw new Error('storage unavailable');
      }
      // Sensor NOMODEL has no model.
      return readings.map((reading) => (reading.sensor.id === 'NOMODEL' ? 'unscored' : reading.value >= 13 ? 'alert' : 'no_alert'));
    },
  };
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    logs.push([level, message]);
    logFields.push(fields);
  };
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), fatal: record('fatal'), lifecycle: record('lifecycle') };
  const metrics = new ServiceMetrics();
  const subscriber = new MqttReadingsSubscriber(CONFIG, connection as unknown as MqttConnection, ingest as unknown as IngestReadingsUseCase, logger, metrics);
  subscriber.start();
  return {
    deliver: (messageId, payload, topic = 'sensors/S1/readings', subscriptionIdentifier) => {
      const properties = subscriptionIdentifier === undefined ? {} : { properties: { subscriptionIdentifier } };
      const packet = { cmd: 'publish', qos: 1, messageId, topic, payload: Buffer.from(payload), dup: false, retain: false, ...properties } as IPublishPacket;
      client.handleMessage(packet, (error) => void (error === undefined && acknowledgedAtOnce.push(messageId)));
    },
    acks,
    acknowledgedAtOnce,
    subscribeOptions,
    calls,
    subscriptions,
    logs,
    logFields,
    metrics,
    subscriber,
    connect: (sessionPresent) => listeners.forEach((listener) => listener(sessionPresent)),
    failNext: (times) => void (failures = times),
  };
}

const settle = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await settle(5);
  expect(condition()).toBe(true);
};
const values = (readings: readonly IncomingReading[]) => readings.map((reading) => reading.value);

describe('MqttReadingsSubscriber', () => {
  it('subscribes to the shared filter on every connection, with or without a session kept', () => {
    const h = harness();
    h.connect(false);
    h.connect(true);
    h.connect(false);
    expect(h.subscriptions).toEqual(['$share/g/sensors/+/readings', '$share/g/sensors/+/readings', '$share/g/sensors/+/readings']);
  });

  it("drops, acknowledged, what only an earlier configuration's subscription brought; takes what its own (or one without identifier) brought", async () => {
    const h = harness();
    h.connect(false);
    const own = subscriptionIdentifierOf('$share/g/sensors/+/readings');
    expect(h.subscribeOptions[0]).toEqual({ qos: 1, properties: { subscriptionIdentifier: own } });
    h.deliver(1, '{"value": 1}', undefined, own);
    h.deliver(2, '{"value": 2}', undefined, own + 1);
    h.deliver(3, '{"value": 3}', undefined, [own + 1, own]);
    h.deliver(4, '{"value": 4}');
    h.deliver(5, '{"value": 5}', undefined, [own + 1, own + 2]);
    await until(() => h.acks.length === 3);
    expect(h.calls.flatMap(values)).toEqual([1, 3, 4]);
    expect(h.acknowledgedAtOnce).toEqual([2, 5]);
    expect((await h.metrics.registry.getSingleMetricAsString('mqtt_stale_subscription_messages_total')).split('\n').at(-1)).toBe('mqtt_stale_subscription_messages_total 2');
    // One line for both: at most one every 10 s.
    expect(h.logs.filter(([level]) => level === 'warn').map(([, message]) => message)).toEqual([
      'message from a subscription an earlier configuration left in the MQTT session (another MQTT_SHARE_GROUP or MQTT_READINGS_TOPIC): acknowledged and dropped; it lasts until the session expires, or use a new MQTT_CLIENT_ID',
    ]);
  });

  it('subscribes without an identifier where the broker has none', () => {
    const h = harness({ identifiersUnavailable: true });
    h.connect(false);
    expect(h.subscribeOptions).toEqual([{ qos: 1 }]);
  });

  it('gives each filter its own subscription identifier, the same at every start, within MQTT 5 bounds', () => {
    const filters = ['$share/g/sensors/+/readings', '$share/h/sensors/+/readings', '$share/g/plant/+/readings', 'sensors/+/alerts', ''];
    const identifiers = filters.map(subscriptionIdentifierOf);
    expect(new Set(identifiers).size).toBe(filters.length);
    expect(identifiers.every((identifier) => Number.isInteger(identifier) && identifier >= 1 && identifier <= 268_435_455)).toBe(true);
    expect(filters.map(subscriptionIdentifierOf)).toEqual(identifiers);
    // FNV-1a 32-bit of "a" is 0xe40c292c (its published test vector), reduced into 1..268,435,455.
    expect(subscriptionIdentifierOf('a')).toBe((0xe40c292c % 268_435_455) + 1);
  });

  it('batches what arrived together into one call, and acknowledges only once it is stored', async () => {
    const h = harness();
    h.deliver(1, '{"value": 13}');
    h.deliver(2, '{"readings": {"a": 1, "b": 2}}');
    h.deliver(3, '{"value": 12}');
    expect(h.acks).toEqual([]);
    await until(() => h.calls.length === 1);
    // Called, not yet stored: nothing acknowledged.
    expect(h.acks).toEqual([]);
    // Arriving while the first batch is stored: the next batch, all together.
    h.deliver(4, '{"value": 14}');
    h.deliver(5, '{"value": 15}');
    await until(() => h.acks.length === 5);
    expect(h.calls.map(values)).toEqual([
      [13, 1, 2, 12],
      [14, 15],
    ]);
    expect(h.acks).toEqual([1, 2, 3, 4, 5]);
  });

  it('acknowledges a refused message in its turn, counts it, and goes on', async () => {
    const h = harness();
    h.deliver(1, '{"value": 13}');
    h.deliver(2, 'not json');
    h.deliver(3, '{"value": 12}');
    await until(() => h.acks.length === 3);
    expect(h.acks).toEqual([1, 2, 3]);
    expect(h.calls.map(values)).toEqual([[13, 12]]);
    const text = await h.metrics.registry.metrics();
    expect(text).toContain('sensor_readings_ingested_total{outcome="invalid"} 1');
    expect(text).toContain('mqtt_invalid_messages_total{reason="not_json"} 1');
    expect(h.logs.filter(([level]) => level === 'warn')).toHaveLength(1);
  });

  it('names readings of models not stored in one warn line per interval, counting them', async () => {
    const h = harness();
    h.deliver(1, '{"value": 13}');
    h.deliver(2, '{"readings": {"params.velRMS.x": 1, "params.velRMS.y": 2}}', 'sensors/NOMODEL/readings');
    await until(() => h.acks.length === 2);
    for (let i = 3; i <= 20; i++) h.deliver(i, '{"value": 1}', 'sensors/NOMODEL/readings');
    await until(() => h.acks.length === 20);
    const warned = h.logs.flatMap(([level, message], index) => (level === 'warn' ? [[message, h.logFields[index]]] : []));
    expect(warned).toEqual([
      ['live readings of models not stored, unscored (fit or train them, or fix the sender)', { sensor_id: 'NOMODEL', metric: 'params.velRMS.x', readings: 2, batchesNotLoggedSinceLast: 0 }],
    ]);
    expect(await h.metrics.registry.metrics()).toContain('sensor_readings_ingested_total{outcome="unscored"} 20');
  });

  it('logs a flood of refused messages in one line per interval, all acknowledged', async () => {
    const h = harness();
    for (let i = 1; i <= 50; i++) h.deliver(i, '{');
    await until(() => h.acks.length === 50);
    expect(h.logs.filter(([level]) => level === 'warn')).toHaveLength(1);
  });

  it('retries a batch storage refuses, unacknowledged, logging the failure and the recovery once each', async () => {
    const h = harness();
    h.failNext(3);
    h.deliver(1, '{"value": 13}');
    h.deliver(2, '{"value": 12}');
    await until(() => h.calls.length === 2);
    expect(h.acks).toEqual([]);
    await until(() => h.acks.length === 2);
    expect(h.calls.map(values)).toEqual([
      [13, 12],
      [13, 12],
      [13, 12],
      [13, 12],
    ]);
    expect(h.logs.filter(([level]) => level === 'error')).toHaveLength(1);
    expect(h.logs.map(([, message]) => message)).toContain('live readings stored again');
    expect(await h.metrics.registry.metrics()).toContain('sensor_readings_ingested_total{outcome="alert"} 1');
  });

  it('on stop finishes the batch in hand and takes nothing more', async () => {
    const h = harness();
    h.deliver(1, '{"value": 13}');
    await until(() => h.calls.length === 1);
    const stopped = h.subscriber.stop();
    h.deliver(2, '{"value": 14}');
    await stopped;
    await settle(20);
    expect(h.acks).toEqual([1]);
    expect(h.calls.map(values)).toEqual([[13]]);
    expect(h.logs.at(-1)).toEqual(['info', 'live readings stopped']);
  });

  it('logs a fault of its own in a batch instead of letting it stop the process, and goes on', async () => {
    const h = harness({ ackFails: true });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      h.deliver(1, '{"value": 13}');
      await until(() => h.logs.some(([level]) => level === 'error'));
      h.deliver(2, '{"value": 12}');
      await until(() => h.calls.length === 2);
      await settle(20);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(h.logs.filter(([level]) => level === 'error').map(([, message]) => message)).toEqual(['live readings batch failed', 'live readings batch failed']);
  });
});
