// The ceiling of `npm run bench:ingest`: a bare MQTT.js subscriber in its own process, as
// the service is, on the same broker with the same kind of subscription (shared, QoS 1,
// persistent session) that JSON.parses each message and does nothing else but count it.
//   node bare-subscriber.js URL TOPIC_FILTER CLIENT_ID
// Driven over IPC by the benchmark: {expect: n, latency: boolean} arms it ({armed} back); it
// answers {doneAt} (epoch ms, high resolution) at the n-th message, and with latency also
// {received: [[at, epochMs], ...]}: each message's `at` and when it was parsed.
import { connectAsync } from 'mqtt';

interface Arm {
  readonly expect: number;
  readonly latency: boolean;
}

const [url, filter, clientId] = process.argv.slice(2) as [string, string, string];
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  // As the service connects (src/interfaces/mqtt/mqtt-connection.ts): MQTT 5, a persistent
  // session, up to 4096 QoS 1 messages in flight to it.
  const client = await connectAsync(url, {
    clientId,
    protocolVersion: 5,
    clean: false,
    reconnectPeriod: 0,
    properties: { sessionExpiryInterval: 24 * 3600, receiveMaximum: 4096 },
  });
  let expect = 0;
  let latency = false;
  let count = 0;
  let received: [string, number][] = [];
  client.on('message', (_topic, payload) => {
    const message = JSON.parse(payload.toString()) as { at?: string };
    if (latency) received.push([message.at ?? '', now()]);
    if (++count === expect) {
      const doneAt = now();
      process.send!(latency ? { doneAt, received } : { doneAt });
      received = [];
    }
  });
  process.on('message', (arm: Arm) => {
    ({ expect, latency } = arm);
    count = 0;
    process.send!({ armed: true });
  });
  process.on('disconnect', () => void client.endAsync().then(() => process.exit(0)));
  await client.subscribeAsync(filter, { qos: 1 });
  process.send!({ ready: true });
}

void main().catch((error: unknown) => {
  console.error(`bare subscriber: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
