import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';
import { connectTestClient, until, type TestMqttClient } from '../support/mqtt-test-client';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay';

// SIGTERM while live readings wait on a database that stopped answering: the shutdown has
// bounds (requests 10 s, the webhook 5 s, the database 2 s) and must not outlast them by
// REQUEST_TIMEOUT_MS, or a supervisor kills the process first.
describeWithPostgres('shutdown of a live-readings replica whose PostgreSQL hangs (server process)', (adminUrl) => {
  describeWithMosquitto('with Mosquitto', () => {
    let broker: MosquittoBroker;
    let database: TestDatabase;
    let relay: TcpRelay;
    let server: ServerProcess;
    let peer: TestMqttClient;

    beforeAll(async () => {
      broker = await startMosquitto();
      database = await createTestDatabase(adminUrl(), 'hungmqtt');
      relay = await startTcpRelay(database.url);
      server = spawnServer({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: relay.url,
        REQUEST_TIMEOUT_MS: '60000',
        MQTT_URL: broker.url,
        MQTT_CLIENT_ID: `hung-${process.pid}`,
        MQTT_SHARE_GROUP: `hung${process.pid}`,
        MQTT_ALERTS_TOPIC: `hung${process.pid}/{sensor_id}`,
        LEARN_FROM_STREAM: 'true',
        LEARN_BATCH_MS: '60000',
      });
      const url = await waitForListening(server);
      const fit = await fetch(`${url}/SEN1/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"values": [10, 5, 6, 9]}' });
      expect(fit.status).toBe(200);
      peer = await connectTestClient(broker.url);
      // A reading learned (below the threshold) waits in the learner's batch; then the
      // database goes silent and another reading waits to be stored.
      await peer.publish('sensors/SEN1/readings', '{"value": 8}');
      await until(async () => (await (await fetch(`${url}/metrics`)).text()).includes('outcome="no_alert"} 1'), 10_000, () => 'the first reading scored');
      relay.silence();
      await peer.publish('sensors/SEN1/readings', '{"value": 9}');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }, 60_000);
    afterAll(async () => {
      server?.child.kill('SIGKILL');
      await peer?.close();
      relay?.close();
      await database?.drop();
      await broker?.dispose();
    });

    it('exits within its bounds (under 20 s), saying it gave up, not after REQUEST_TIMEOUT_MS', async () => {
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const code = await server.exited;
      const seconds = (Date.now() - signalledAt) / 1000;
      expect(seconds).toBeLessThan(20);
      expect(code).toBe(1);
      expect(server.stdout()).toContain('"msg":"shutdown did not finish in time (a database or broker that does not answer); exiting anyway"');
    }, 30_000);
  });
});
