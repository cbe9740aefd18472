import mqtt, { type MqttClient } from 'mqtt';

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

/** A test's own MQTT client: publishes readings and records what arrives on its subscriptions. */
export interface TestMqttClient {
  readonly client: MqttClient;
  readonly received: ReceivedMessage[];
  publish(topic: string, payload: string | Buffer, qos?: 0 | 1): Promise<void>;
  subscribe(filter: string): Promise<void>;
  /** Waits until `count` messages have arrived (all of them so far returned), or fails after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

let clients = 0;

export async function connectTestClient(url: string): Promise<TestMqttClient> {
  const client = await mqtt.connectAsync(url, { clientId: `test-${process.pid}-${++clients}`, reconnectPeriod: 200 });
  const received: ReceivedMessage[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return {
    client,
    received,
    publish: async (topic, payload, qos = 1) => void (await client.publishAsync(topic, payload, { qos })),
    subscribe: async (filter) => void (await client.subscribeAsync(filter, { qos: 1 })),
    waitFor: (count, timeoutMs = 10_000) => until(() => received.length >= count, timeoutMs, () => `${received.length} of ${count} messages`).then(() => received),
    close: async () => void (await client.endAsync(true)),
  };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs` with `describe()`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, describe: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The value of one Prometheus sample in /metrics text (0 when absent). */
export function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
