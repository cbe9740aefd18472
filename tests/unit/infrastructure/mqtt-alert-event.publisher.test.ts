import type { MqttClient } from 'mqtt';
import type { Logger } from '../../../src/application/ports/logger';
import type { AlertEvent } from '../../../src/domain/alert-event';
import { MqttAlertEventPublisher } from '../../../src/infrastructure/mqtt/mqtt-alert-event.publisher';

// The publisher against a fake MQTT.js client whose acknowledgements the test gives.
const EVENT: AlertEvent = { sensorId: 'SEN1', metric: 'value', state: 'cleared', value: 9, threshold: 5, mean: 3, std: 1, zScore: 6, at: new Date(0), reason: 'model_deleted' };

function harness() {
  const callbacks: Array<(error?: Error) => void> = [];
  const topics: string[] = [];
  const options: unknown[] = [];
  const client = {
    publish: (topic: string, _payload: string, given: unknown, callback: (error?: Error) => void) => {
      topics.push(topic);
      options.push(given);
      callbacks.push(callback);
    },
  };
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  const ignore = () => undefined;
  const logger: Logger = { debug: ignore, info: ignore, warn: (message, fields) => void warnings.push([message, fields]), error: ignore, fatal: ignore, lifecycle: ignore };
  const publisher = new MqttAlertEventPublisher(client as unknown as MqttClient, 'sensors/{sensor_id}/alerts/{metric}', logger, '0123456789abcdef0123456789abcdef');
  return { publisher, callbacks, topics, options, warnings };
}

describe('MqttAlertEventPublisher', () => {
  it('publishes to the topic of the event, QoS 1, retained, naming its database, and says nothing at close once the broker acknowledged every event', () => {
    const h = harness();
    h.publisher.publish(EVENT);
    h.publisher.publish({ ...EVENT, sensorId: 'SEN2' });
    h.callbacks.forEach((acknowledge) => acknowledge());
    h.publisher.close();
    expect(h.topics).toEqual(['sensors/SEN1/alerts/value', 'sensors/SEN2/alerts/value']);
    expect(h.options[1]).toEqual({ qos: 1, retain: true, properties: { userProperties: { database_id: '0123456789abcdef0123456789abcdef' } } });
    expect(h.warnings).toEqual([]);
  });

  it('says at close how many events the broker never acknowledged: they are lost with the process', () => {
    const h = harness();
    for (const sensorId of ['SEN1', 'SEN2', 'SEN3']) h.publisher.publish({ ...EVENT, sensorId });
    h.callbacks[0]!();
    h.callbacks[1]!(new Error('connection closed'));
    h.publisher.close();
    expect(h.warnings.map(([message]) => message)).toEqual([
      'alert event not published to MQTT',
      'alert events lost at shutdown: the broker never acknowledged them (GET /alerts/active has the current state)',
    ]);
    expect(h.warnings[1]![1]).toEqual({ events: 1 });
  });
});
