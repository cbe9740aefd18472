import { describeWithMosquitto, startMosquitto, type MosquittoBroker } from '../support/mosquitto-broker';
import { connectTestClient, metricValue, until, type TestMqttClient } from '../support/mqtt-test-client';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres-server';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';

// Two server processes over one PostgreSQL database, in one shared-subscription group: the
// broker splits the readings between them, each reading is scored once, and each transition
// is decided (and published) once although both replicas score readings of the same models
// at the same time. Model of every sensor: fit [10, 5, 6, 9], threshold 12.26...

jest.setTimeout(90_000);

const SENSORS = ['RA', 'RB', 'RC', 'RD'];
const PER_SENSOR = 150;

describeWithMosquitto('MQTT ingestion by two replicas', () => {
  describeWithPostgres('two replicas over one PostgreSQL database, one shared subscription', (adminUrl) => {
    let broker: MosquittoBroker;
    let database: TestDatabase;
    let peer: TestMqttClient;
    const replicas: ServerProcess[] = [];
    const urls: string[] = [];

    beforeAll(async () => {
      broker = await startMosquitto();
      database = await createTestDatabase(adminUrl(), 'mqtt_replicas');
      for (let i = 0; i < 2; i++) {
        replicas.push(
          spawnServer({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url, MQTT_URL: broker.url, MQTT_CLIENT_ID: `replica-${process.pid}-${i}`, MQTT_SHARE_GROUP: 'replicas' }),
        );
      }
      urls.push(...(await Promise.all(replicas.map((replica) => waitForListening(replica, 30_000)))));
      peer = await connectTestClient(broker.url);
      await peer.subscribe('sensors/+/alerts');
    }, 60_000);
    afterAll(async () => {
      await peer?.close();
      for (const replica of replicas) replica.child.kill('SIGTERM');
      const codes = await Promise.all(replicas.map((replica) => replica.exited));
      await database?.drop();
      await broker?.dispose();
      expect(codes).toEqual([0, 0]);
      expect(replicas.map((replica) => replica.stderr())).toEqual(['', '']);
    });

    const totals = async (outcome: string) => {
      const counts = await Promise.all(urls.map(async (url) => metricValue(await (await fetch(`${url}/metrics`)).text(), `sensor_readings_ingested_total{outcome="${outcome}"}`)));
      return counts;
    };
    const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

    it('scores each reading once, split between the replicas, and publishes one event per transition', async () => {
      for (const sensor of SENSORS) {
        const answer = await fetch(`${urls[0]}/${sensor}/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
        expect(answer.status).toBe(200);
      }
      const brokerStates = () => Promise.all(urls.map(async (url) => ((await (await fetch(`${url}/ready`)).json()) as { mqtt?: string }).mqtt));
      await until(async () => (await brokerStates()).every((state) => state === 'connected'));

      const burst = async (value: number) => {
        const sent: Promise<void>[] = [];
        for (let i = 0; i < PER_SENSOR; i++) for (const sensor of SENSORS) sent.push(peer.publish(`sensors/${sensor}/readings`, JSON.stringify({ value })));
        await Promise.all(sent);
      };

      await burst(13);
      await until(async () => sum(await totals('alert')) >= SENSORS.length * PER_SENSOR, 30_000);
      const alerts = await totals('alert');
      await burst(12);
      await until(async () => sum(await totals('no_alert')) >= SENSORS.length * PER_SENSOR, 30_000);
      // Anything repeated or late would show now.
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(sum(await totals('alert'))).toBe(SENSORS.length * PER_SENSOR);
      expect(sum(await totals('no_alert'))).toBe(SENSORS.length * PER_SENSOR);
      // Both took a share of the stream.
      expect(alerts.every((count) => count > 0)).toBe(true);
      const events = peer.received.map((message) => JSON.parse(message.payload) as { sensor_id: string; state: string });
      const bySensor = SENSORS.map((sensor) => events.filter((event) => event.sensor_id === sensor).map((event) => event.state));
      expect(bySensor).toEqual(SENSORS.map(() => ['raised', 'cleared']));
      expect(await (await fetch(`${urls[1]}/alerts/active`)).json()).toEqual([]);
    });

    it("leaves each model's retained message saying its stored state, though both replicas publish its transitions", async () => {
      // Readings of one model alternate above and below its threshold, split between the
      // replicas (the broker deals messages out in turn: with an odd number of sensors, a
      // sensor's next reading goes to the other replica): each publishes the transitions it
      // decides, and the broker keeps whichever arrives last, not the one decided last. The
      // replicas' checks put the stored state back.
      const sensors = Array.from({ length: 31 }, (_, index) => `RR${String(index).padStart(2, '0')}`);
      for (const sensor of sensors) {
        const answer = await fetch(`${urls[0]}/${sensor}/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ values: [10, 5, 6, 9] }) });
        expect(answer.status).toBe(200);
      }
      const before = sum(await totals('alert')) + sum(await totals('no_alert'));
      const sent: Promise<void>[] = [];
      for (let round = 0; round < 8; round++) for (const sensor of sensors) sent.push(peer.publish(`sensors/${sensor}/readings`, JSON.stringify({ value: round % 2 === 0 ? 13 : 12 })));
      // And a ninth: which state each model ends in depends on the order the replicas stored them.
      sensors.forEach((sensor, index) => sent.push(peer.publish(`sensors/${sensor}/readings`, JSON.stringify({ value: index % 3 === 0 ? 13 : 12 }))));
      await Promise.all(sent);
      await until(async () => sum(await totals('alert')) + sum(await totals('no_alert')) === before + 9 * sensors.length, 30_000);

      const stored = async () => {
        const active = (await (await fetch(`${urls[1]}/alerts/active`)).json()) as Array<{ sensor_id: string }>;
        return Object.fromEntries(sensors.map((sensor) => [sensor, active.some((alert) => alert.sensor_id === sensor) ? 'raised' : 'cleared']));
      };
      const retained = async () => {
        const fresh = await connectTestClient(broker.url);
        try {
          await fresh.subscribe('sensors/+/alerts');
          await until(() => fresh.received.filter((message) => message.topic.includes('/RR')).length >= sensors.length);
          const states = new Map(fresh.received.filter((message) => message.topic.includes('/RR')).map((message) => [message.topic.split('/')[1]!, JSON.parse(message.payload).state as string]));
          return Object.fromEntries(sensors.map((sensor) => [sensor, states.get(sensor) ?? 'none']));
        } finally {
          await fresh.close();
        }
      };
      let last: [Record<string, string>, Record<string, string>] = [{}, {}];
      await until(
        async () => {
          last = [await retained(), await stored()];
          return JSON.stringify(last[0]) === JSON.stringify(last[1]);
        },
        15_000,
        () => `retained ${JSON.stringify(last[0])} to match stored ${JSON.stringify(last[1])}`,
      );
    });
  });
});
