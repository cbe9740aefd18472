/**
 * The live-readings connection as /ready shows it: `off` without MQTT_URL, `connecting` until
 * the first connection, then `connected`, `reconnecting` (lost, retrying with backoff) or
 * `closed` (shutting down). Written by MqttConnection, read by the HTTP edge.
 */
export type BrokerState = 'off' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export class IngestionStatus {
  broker: BrokerState = 'off';
}
