import type { AlertEventPublisher } from '../../application/ports/alert-event.publisher';
import type { Logger } from '../../application/ports/logger';
import type { AlertEvent } from '../../domain/alert-event';
import { alertEventJson } from '../alert-events/alert-event-message';
import { alertsTopicOf, DATABASE_ID_PROPERTY } from '../../mqtt-topics';
import type { IClientPublishOptions, MqttClient } from 'mqtt';

/**
 * Publishes each alert transition to MQTT_ALERTS_TOPIC (`{sensor_id}`, and `{metric}` when
 * present, replaced), QoS 1 and retained, so a new subscriber sees the latest transition at
 * once. Each carries the MQTT 5 user property `database_id`: the database whose state it
 * tells (MqttRetainedAlertsReconciler leaves other databases' events alone). MQTT.js keeps a
 * publish made while the broker is away and sends it on reconnection.
 */
export class MqttAlertEventPublisher implements AlertEventPublisher {
  // Events handed to MQTT.js that the broker has not acknowledged yet: those still waiting
  // for a broker away when the service stops are lost with the process's memory.
  private unacknowledged = 0;
  private readonly options: IClientPublishOptions;

  constructor(
    private readonly client: MqttClient,
    private readonly alertsTopic: string,
    private readonly logger: Logger,
    databaseId: string,
  ) {
    this.options = { qos: 1, retain: true, properties: { userProperties: { [DATABASE_ID_PROPERTY]: databaseId } } };
  }

  publish(event: AlertEvent): void {
    const topic = alertsTopicOf(this.alertsTopic, event.sensorId, event.metric);
    this.unacknowledged++;
    try {
      this.client.publish(topic, alertEventJson(event), this.options, (error) => {
        this.unacknowledged--;
        if (error) this.logger.warn('alert event not published to MQTT', { topic, state: event.state, error: error.message });
      });
    } catch (error) {
      this.unacknowledged--;
      // The port promises never to throw: ingestion must go on.
      this.logger.warn('alert event not published to MQTT', { topic, state: event.state, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Once the connection is closed: says how many events the broker never acknowledged, lost with this process. */
  close(): void {
    if (this.unacknowledged === 0) return;
    this.logger.warn('alert events lost at shutdown: the broker never acknowledged them (GET /alerts/active has the current state)', { events: this.unacknowledged });
  }
}
