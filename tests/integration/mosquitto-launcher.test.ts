import mqtt, { connectAsync } from 'mqtt';
import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';

// The launcher the MQTT tests stand on: a broker of its own, and a restart that keeps
// persistent sessions with their queued QoS 1 messages.
describeWithMosquitto('Mosquitto test launcher', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker.dispose());

  it('keeps a persistent session and its queued QoS 1 message across a restart', async () => {
    const options = { clientId: 'launcher-test', clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 };
    const subscriber = await connectAsync(broker.url, options);
    await subscriber.subscribeAsync('t/+', { qos: 1 });
    await subscriber.endAsync();

    const publisher = await connectAsync(broker.url, { reconnectPeriod: 0 });
    await publisher.publishAsync('t/1', 'queued', { qos: 1 });
    await publisher.endAsync();
    await broker.restart();

    // The listener before the connection: the queued message follows the CONNACK at once.
    const again = mqtt.connect(broker.url, { ...options, manualConnect: true });
    const received = new Promise<string>((resolve) => again.on('message', (_topic, payload) => resolve(payload.toString())));
    again.connect();
    expect(await received).toBe('queued');
    await again.endAsync();
  });
});
