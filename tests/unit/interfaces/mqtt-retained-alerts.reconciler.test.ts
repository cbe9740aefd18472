import type { IPublishPacket } from 'mqtt';
import type { AlertEventPublisher } from '../../../src/application/ports/alert-event.publisher';
import type { Logger } from '../../../src/application/ports/logger';
import { ReconcileRetainedAlertsUseCase } from '../../../src/application/reconcile-retained-alerts.use-case';
import type { MqttConfig } from '../../../src/config';
import { AlertDebounce } from '../../../src/domain/alert-debounce';
import type { AlertEvent } from '../../../src/domain/alert-event';
import { AlertPolicy } from '../../../src/domain/alert-policy';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';
import { Weights } from '../../../src/domain/weights';
import { ServiceMetrics } from '../../../src/infrastructure/metrics/service-metrics';
import type { MessageHandler, MqttConnection } from '../../../src/interfaces/mqtt/mqtt-connection';
import { MqttRetainedAlertsReconciler } from '../../../src/interfaces/mqtt/mqtt-retained-alerts.reconciler';
import { InMemoryAlertStateRepository } from '../../support/in-memory-alert-state.repository';
import { InMemoryWeightsRepository } from '../../support/in-memory-weights.repository';

// The reconciler against a fake connection that plays the broker's side of a subscription.
// MQTT.js hands over the messages read together with a SUBACK before it calls the
// subscription back: the fake does the same, all of them before the callback.

const PERIOD_MS = 20;
const CONFIG: MqttConfig = { url: 'mqtt://broker', readingsTopic: 'sensors/+/readings', shareGroup: 'g', alertsTopic: 'sensors/{sensor_id}/alerts', clientId: 'c', alertsReconcileMs: PERIOD_MS };
const DATABASE_ID = '0123456789abcdef0123456789abcdef';
const SENSORS = ['SEN1', 'SEN2', 'SEN3'];

/** The retained event of a raise of `sensorId` (model mean 10, std 2: threshold 14) by a reading of 15. */
function raisedPacket(sensorId: string): IPublishPacket {
  const event = { sensor_id: sensorId, metric: 'value', state: 'raised', value: 15, threshold: 14, mean: 10, std: 2, z_score: 2.5, at: '2026-11-30T12:00:01.000Z' };
  return {
    cmd: 'publish',
    topic: `sensors/${sensorId}/alerts`,
    payload: Buffer.from(JSON.stringify(event)),
    qos: 0,
    dup: false,
    retain: true,
    properties: { userProperties: { database_id: DATABASE_ID } },
  };
}

async function harness() {
  const states = new InMemoryAlertStateRepository();
  const weights = new InMemoryWeightsRepository(states);
  for (const sensorId of SENSORS) {
    const sensor = Sensor.withId(sensorId);
    await weights.replace(sensor, MetricName.DEFAULT, Weights.of(10, 2, 30));
    await states.advance([{ sensor, metric: MetricName.DEFAULT, value: 15, at: new Date(Date.UTC(2026, 10, 30, 12, 0, 1)), inAlert: true, threshold: 14 }], new AlertDebounce());
  }
  const published: AlertEvent[] = [];
  const publisher: AlertEventPublisher = { publish: (event) => void published.push(event) };
  const reconcile = new ReconcileRetainedAlertsUseCase(states, weights, publisher, new AlertPolicy());
  const ignore = () => undefined;
  const logger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore, fatal: ignore, lifecycle: ignore };
  let handler: MessageHandler = (_packet, callback) => callback();
  const listeners: Array<(sessionPresent: boolean) => void> = [];
  const client = {
    connected: true,
    subscribe: (_filter: string, _options: unknown, callback: (error: Error | null, granted: Array<{ topic: string; qos: number }>) => void) => {
      // The SUBACK and every retained message in one read: the messages first.
      for (const sensorId of SENSORS) handler(raisedPacket(sensorId), ignore);
      callback(null, [{ topic: 'sensors/+/alerts', qos: 0 }]);
    },
  };
  const connection = {
    client,
    subscriptionProperties: () => ({}),
    route: (_filter: string, routed: MessageHandler) => void (handler = routed),
    onConnect: (listener: (sessionPresent: boolean) => void) => void listeners.push(listener),
  };
  const metrics = new ServiceMetrics();
  const reconciler = new MqttRetainedAlertsReconciler(CONFIG, connection as unknown as MqttConnection, reconcile, logger, metrics, DATABASE_ID);
  return { reconciler, published, metrics, connect: () => listeners.forEach((listener) => listener(false)) };
}

describe('MqttRetainedAlertsReconciler', () => {
  it('keeps the retained messages handed over before the SUBACK callback: every model has its message, nothing is republished', async () => {
    const h = await harness();
    h.reconciler.start();
    h.connect();
    await new Promise((resolve) => setTimeout(resolve, 20 * PERIOD_MS));
    await h.reconciler.stop();
    expect(h.published).toEqual([]);
    expect((await h.metrics.registry.getSingleMetricAsString('mqtt_retained_alert_corrections_total')).endsWith(' 0')).toBe(true);
  });
});
