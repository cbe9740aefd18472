import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';
import { connectTestClient, metricValue, until, type TestMqttClient } from '../support/mqtt-test-client';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

// The persistent session keeps the subscriptions of earlier starts. A restart with another
// MQTT_SHARE_GROUP, same MQTT_CLIENT_ID, used to ingest every reading twice: once through the
// new group's subscription, once through the old one still in the session.

jest.setTimeout(60_000);

describeWithMosquitto('a restart with another MQTT_SHARE_GROUP on the same session', () => {
  let broker: MosquittoBroker;
  let dir: string;
  let peer: TestMqttClient | undefined;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    broker = await startMosquitto();
    dir = makeTempDir();
  });
  afterAll(async () => {
    await peer?.close();
    server?.child.kill('SIGKILL');
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(shareGroup: string): Promise<string> {
    server = spawnServer({
      PORT: '0',
      HOST: '127.0.0.1',
      DB_PATH: join(dir, 'weights.db'),
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `service-${process.pid}`,
      MQTT_SHARE_GROUP: shareGroup,
    });
    const url = await waitForListening(server);
    await until(async () => ((await (await fetch(`${url}/ready`)).json()) as { mqtt?: string }).mqtt === 'connected');
    await until(() => server!.stdout().includes(`"filter":"$share/${shareGroup}/sensors/+/readings","msg":"MQTT subscribed"`));
    return url;
  }

  async function stop(): Promise<void> {
    server!.child.kill('SIGTERM');
    expect(await server!.exited).toBe(0);
    expect(server!.stderr()).toBe('');
  }

  it('ingests each reading once: what the old group brings is acknowledged, dropped and counted', async () => {
    let url = await serve('first');
    const fit = await fetch(`${url}/SEN1/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
    expect(fit.status).toBe(200);
    await stop();
    url = await serve('second');
    peer = await connectTestClient(broker.url);
    for (let reading = 0; reading < 10; reading++) await peer.publish('sensors/SEN1/readings', '{"value": 1}');
    const metrics = async () => (await fetch(`${url}/metrics`)).text();
    await until(async () => metricValue(await metrics(), 'mqtt_stale_subscription_messages_total') === 10);
    // Anything still on its way would have come by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const text = await metrics();
    expect(metricValue(text, 'sensor_readings_ingested_total{outcome="no_alert"}')).toBe(10);
    expect(metricValue(text, 'mqtt_stale_subscription_messages_total')).toBe(10);
    expect(server!.stdout()).toContain('"msg":"message from a subscription an earlier configuration left in the MQTT session');
    await stop();
    // Acknowledged: nothing from the old group waits in the session for the next start.
    url = await serve('second');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(metricValue(await metrics(), 'mqtt_stale_subscription_messages_total')).toBe(0);
    await stop();
  });
});
