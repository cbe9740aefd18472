import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../application/ports/logger';
import { redactUrlPassword, type MqttConfig } from '../../config';
import type { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { topicMatches } from '../../mqtt-topics';
import type { IngestionStatus } from './ingestion-status';

/** Reconnect backoff: doubles from the first to the last, with jitter, reset by a connection. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 10_000;
/**
 * How long the broker keeps this replica's session (its subscription and the QoS 1 readings
 * queued for it) while it is away: a restart or an outage shorter than this loses nothing.
 * A replica retired for good keeps receiving its share of a shared subscription for as long.
 */
export const SESSION_EXPIRY_S = 24 * 3600;
/**
 * Unacknowledged QoS 1 messages the broker may have in flight to us (MQTT 5 Receive Maximum).
 * Readings are acknowledged after their batch is stored, so this bounds both the batch size and
 * the memory held for messages not yet stored.
 */
const RECEIVE_MAXIMUM = 4096;
/**
 * A broker closes a connection when another client connects with the same client id (MQTT
 * 5.0 §3.1.4), MQTT 5's reason code 142 (Session taken over) where it says why: Mosquitto
 * 2.0 closes it without a word. Two processes on one MQTT_CLIENT_ID then take the session
 * from each other for as long as both run. This many closes without a reason within the
 * window are logged as that likely cause.
 */
const TAKEOVER_CLOSES = 3;
const TAKEOVER_WINDOW_MS = 60_000;
const SESSION_TAKEN_OVER = 142;

/** Larger packets the broker drops instead of sending (MQTT 5 Maximum Packet Size); up to it, the parser counts them as too large. */
const MAX_PACKET_BYTES = 1024 * 1024;

// MQTT.js hands each message to handleMessage one at a time and sends its PUBACK when the
// callback is called; the next message waits for that. Batching needs the messages to keep
// coming before any is acknowledged, so the subscriber calls back with this marker (MQTT.js
// then sends no PUBACK and goes on) and acknowledges later through ack().
export const ACK_LATER = Object.freeze(new Error('acknowledged after its batch is stored'));

/** Takes one incoming message, as MQTT.js's handleMessage does: `callback()` acknowledges it, `callback(ACK_LATER)` leaves that for later. */
export type MessageHandler = (packet: IPublishPacket, callback: (error?: Error) => void) => void;

interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }): void;
}

/**
 * The one MQTT connection of this process (MQTT 5, persistent session named by MQTT_CLIENT_ID),
 * shared by the readings subscriber and the alert publisher. Keeps reconnecting with backoff
 * and logs each change of state once, never each attempt.
 */
export class MqttConnection {
  readonly client: MqttClient;
  private connectionNumber = 0;
  private identifiersAvailable = true;
  private lastError: string | undefined;
  /** When the latest connections were closed without a reason (performance.now()). */
  private closesWithoutReason: number[] = [];
  private readonly connectListeners: Array<(sessionPresent: boolean) => void> = [];
  private readonly routes: Array<{ filter: string; handler: MessageHandler }> = [];
  // A message no subscription of ours asked for (one kept in the session from an older setting): dropped.
  private otherMessages: MessageHandler = (_packet, callback) => callback();

  constructor(
    private readonly config: MqttConfig,
    private readonly logger: Logger,
    private readonly metrics: ServiceMetrics,
    private readonly status: IngestionStatus,
  ) {
    const options: IClientOptions = {
      protocolVersion: 5,
      clean: false,
      clientId: config.clientId,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_S, receiveMaximum: RECEIVE_MAXIMUM, maximumPacketSize: MAX_PACKET_BYTES },
      reconnectPeriod: RECONNECT_FIRST_MS,
      connectTimeout: 10_000,
      // Subscribed again by the subscriber itself whenever the broker kept no session.
      resubscribe: false,
      // A refusal (bad credentials, a broker restarting) may be fixed on the broker's side: keep trying.
      reconnectOnConnackError: true,
      manualConnect: true,
    };
    this.client = mqtt.connect(config.url, options);
    this.client.handleMessage = (packet, callback) => {
      const handler = this.routes.find((route) => topicMatches(route.filter, packet.topic))?.handler ?? this.otherMessages;
      handler(packet, callback);
    };
    this.status.broker = 'connecting';
    this.metrics.brokerConnected.set(0);
    this.client.on('connect', (connack) => {
      this.connectionNumber++;
      // Absent means available (MQTT 5.0 §3.2.2.3.17); a broker without them (AWS IoT Core, for
      // one) would close the connection on a SUBSCRIBE that carries one.
      this.identifiersAvailable = connack.properties?.subscriptionIdentifiersAvailable !== false;
      this.client.options.reconnectPeriod = RECONNECT_FIRST_MS;
      this.change('connected', { sessionPresent: connack.sessionPresent });
      for (const listener of this.connectListeners) listener(connack.sessionPresent);
    });
    this.client.on('reconnect', () => {
      const next = Math.min(RECONNECT_MAX_MS, (this.client.options.reconnectPeriod ?? RECONNECT_FIRST_MS) * 2);
      this.client.options.reconnectPeriod = Math.round(next * (0.8 + 0.4 * Math.random()));
    });
    this.client.on('close', () => {
      if (this.status.broker === 'connected') this.change('reconnecting', {});
      else if (this.status.broker === 'connecting' && this.lastError !== undefined && !this.warnedUnreachable) {
        this.warnedUnreachable = true;
        this.logger.warn('MQTT broker not reachable yet; retrying with backoff', { url: redactUrlPassword(this.config.url), error: this.lastError });
      }
    });
    this.client.on('disconnect', (packet) => {
      this.lastError =
        packet.reasonCode === SESSION_TAKEN_OVER
          ? `session taken over (reason code 142): another client connected with MQTT_CLIENT_ID "${this.config.clientId}"; give each replica its own`
          : `broker disconnected us (reason code ${packet.reasonCode ?? 0})`;
    });
    // Without a listener an 'error' event would throw; the message is logged with the next change of state.
    this.client.on('error', (error) => (this.lastError = error.message));
  }

  private warnedUnreachable = false;
  private started = false;

  /** Which connection is current: messages are acknowledged only on the connection that brought them. */
  get connection(): number {
    return this.connectionNumber;
  }

  /**
   * The subscription options carrying `identifier` as the MQTT 5 Subscription Identifier, as
   * the current connection's broker allows: none where it has them unavailable.
   */
  subscriptionProperties(identifier: number): { properties?: { subscriptionIdentifier: number } } {
    return this.identifiersAvailable ? { properties: { subscriptionIdentifier: identifier } } : {};
  }

  /** Calls `listener` on every connection, with whether the broker kept our session (and so our subscription). */
  onConnect(listener: (sessionPresent: boolean) => void): void {
    this.connectListeners.push(listener);
  }

  /** Hands the messages on topics `filter` matches to `handler` (the first route whose filter matches takes a message). */
  route(filter: string, handler: MessageHandler): void {
    this.routes.push({ filter, handler });
  }

  /** Hands every message no route takes to `handler`. */
  onMessage(handler: MessageHandler): void {
    this.otherMessages = handler;
  }

  start(): void {
    this.started = true;
    this.logger.info('MQTT connecting', { url: redactUrlPassword(this.config.url), clientId: this.config.clientId });
    this.client.connect();
  }

  /**
   * Sends the PUBACK of a QoS 1 message received on connection `connection`; false when that
   * connection is gone (the broker delivers the message again on the next one).
   */
  ack(messageId: number, connection: number): boolean {
    if (connection !== this.connectionNumber || !this.client.connected) return false;
    (this.client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 });
    return true;
  }

  /** Closes the connection: queued outgoing QoS 1 messages get up to `graceMs` to be acknowledged. */
  async close(graceMs = 5000): Promise<void> {
    if (this.status.broker === 'closed') return;
    this.change('closed', {});
    // MQTT.js cannot end a client that never connected (it throws): there is nothing to close.
    if (!this.started) return;
    // After the grace, forced, and not waited for: with the broker away, neither end settles,
    // and the process, with nothing else to wait for, exited midway through its shutdown
    // (learning not flushed, storage not closed, no "stopped" line).
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.client.end(true);
        resolve();
      }, graceMs);
    });
    await Promise.race([this.client.endAsync(false).catch(() => undefined), forced]);
    clearTimeout(timer);
  }

  /** A hint, once closes without a reason come TAKEOVER_CLOSES times within the window: likely another client on our client id. */
  private takeoverHint(): { hint?: string } {
    if (this.lastError !== undefined) return {};
    const now = performance.now();
    this.closesWithoutReason = [...this.closesWithoutReason.filter((at) => at > now - TAKEOVER_WINDOW_MS), now];
    if (this.closesWithoutReason.length < TAKEOVER_CLOSES) return {};
    return {
      hint: `closed by the broker ${this.closesWithoutReason.length} times in ${TAKEOVER_WINDOW_MS / 1000} s without a reason: a broker does that when another client connects with the same MQTT_CLIENT_ID ("${this.config.clientId}"); give each replica its own`,
    };
  }

  private change(state: 'connected' | 'reconnecting' | 'closed', fields: Record<string, unknown>): void {
    this.status.broker = state;
    this.metrics.brokerConnected.set(state === 'connected' ? 1 : 0);
    if (state === 'connected') this.logger.info('MQTT connected', { url: redactUrlPassword(this.config.url), ...fields });
    else if (state === 'reconnecting') this.logger.warn('MQTT connection lost; reconnecting with backoff', { error: this.lastError ?? 'connection closed', ...this.takeoverHint() });
    else this.logger.info('MQTT connection closing', {});
    this.lastError = undefined;
  }
}
