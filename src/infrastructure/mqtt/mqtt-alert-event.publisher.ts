import type { AlertEventPublisher } from '../../application/ports/alert-event.publisher';
import type { Logger } from '../../application/ports/logger';
import type { AlertEvent } from '../../domain/alert-event';
import { alertEventJson } from '../alert-events/alert-event-message';
import type { MqttClient } from 'mqtt';

/**
 * Publishes each alert transition to MQTT_ALERTS_TOPIC (`{sensor_id}`, and `{metric}` when
 * present, replaced), QoS 1 and retained, so a new subscriber sees the latest transition at
 * once. MQTT.js keeps a publish made while the broker is away and sends it on reconnection.
 */
export class MqttAlertEventPublisher implements AlertEventPublisher {
  constructor(
    private readonly client: MqttClient,
    private readonly alertsTopic: string,
    private readonly logger: Logger,
  ) {}

  publish(event: AlertEvent): void {
    const topic = this.alertsTopic.replaceAll('{sensor_id}', event.sensorId).replaceAll('{metric}', event.metric);
    try {
      this.client.publish(topic, alertEventJson(event), { qos: 1, retain: true }, (error) => {
        if (error) this.logger.warn('alert event not published to MQTT', { topic, state: event.state, error: error.message });
      });
    } catch (error) {
      // The port promises never to throw: ingestion must go on.
      this.logger.warn('alert event not published to MQTT', { topic, state: event.state, error: error instanceof Error ? error.message : String(error) });
    }
  }
}
