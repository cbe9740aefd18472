import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ALERT_EVENT_PUBLISHER, type AlertEventPublisher } from '../../src/application/ports/alert-event.publisher';
import type { Logger } from '../../src/application/ports/logger';
import type { AlertEvent } from '../../src/domain/alert-event';
import { WebhookAlertEventPublisher, type WebhookDeliveryOptions } from '../../src/infrastructure/alert-events/webhook-alert-event.publisher';
import { PinoLogger } from '../../src/infrastructure/logging/pino-logger';
import { ServiceMetrics } from '../../src/infrastructure/metrics/service-metrics';
import { createTestApp } from '../support/test-app';
import { until, WebhookReceiver } from '../support/webhook-receiver';

const event = (sensorId: string, state: AlertEvent['state'] = 'raised', second = 5): AlertEvent => ({
  sensorId, metric: 'params.velRMS.x', state, value: 0.0123, threshold: 0.0101, mean: 0.0075, std: 0.0013, zScore: (0.0123 - 0.0075) / 0.0013, at: new Date(Date.UTC(2026, 10, 30, 12, 0, second, 250)),
});
// Written out by hand: the wire format is what receivers code against.
const BODY_SEN0001 = '{"sensor_id":"SEN0001","metric":"params.velRMS.x","state":"raised","value":0.0123,"threshold":0.0101,"mean":0.0075,"std":0.0013,"z_score":3.692307692307693,"at":"2026-11-30T12:00:05.250Z"}';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, lifecycle() {} };

async function deliveries(metrics: ServiceMetrics): Promise<Record<string, number>> {
  const { values } = await metrics.webhookDeliveries.get();
  return Object.fromEntries(values.map(({ labels, value }) => [String(labels.result), value]));
}

/** A port nothing listens on (just released by the system). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('alert webhook: delivery to a real HTTP receiver', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });

  /** A publisher with fast retries (real fetch, real time) and its own metrics. */
  function publisherFor(url: string, options: Partial<WebhookDeliveryOptions> = {}) {
    const metrics = new ServiceMetrics();
    const publisher = new WebhookAlertEventPublisher(url, metrics, silent, { initialBackoffMs: 20, maxBackoffMs: 100, requestTimeoutMs: 2000, ...options });
    open.push({ close: () => publisher.close(0) });
    return { publisher, metrics };
  }
  async function receiver(): Promise<WebhookReceiver> {
    const started = await WebhookReceiver.start();
    open.push(started);
    return started;
  }

  it('through the container: ALERT_WEBHOOK_URL gets the exact JSON, Basic auth from the URL, and /metrics counts it; the password is never logged', async () => {
    const hook = await receiver();
    const logText: string[] = [];
    const testApp = await createTestApp({
      env: { ALERT_WEBHOOK_URL: `http://alerts:s3cr%40t-pw@127.0.0.1:${hook.port}/hooks/sensor?source=test`, LOG_LEVEL: 'debug' },
      configure: (container) => container.register(PinoLogger, { useValue: new PinoLogger('debug', 'json', { write: (line: string) => void logText.push(line) }) }),
    });
    open.push(testApp);
    hook.answer({ status: 503 }, { status: 204 });
    testApp.container.resolve<AlertEventPublisher>(ALERT_EVENT_PUBLISHER).publish(event('SEN0001'));
    await until(() => hook.requests.length === 2, 'the retry after 503');
    for (const received of hook.requests) {
      expect(received.method).toBe('POST');
      expect(received.url).toBe('/hooks/sensor?source=test');
      expect(received.body).toBe(BODY_SEN0001);
      expect(received.headers['content-type']).toBe('application/json');
      expect(received.headers.authorization).toBe(`Basic ${Buffer.from('alerts:s3cr@t-pw').toString('base64')}`);
    }
    expect(hook.requests[1]!.headers['idempotency-key']).toBe(hook.requests[0]!.headers['idempotency-key']);
    const metricsText = async () => (await request(testApp.app).get('/metrics').expect(200)).text;
    await until(async () => /^sensor_alerts_webhook_deliveries_total\{result="delivered"\} 1$/m.test(await metricsText()), 'the delivery counted');
    const text = await metricsText();
    expect(text).toMatch(/^sensor_alerts_webhook_deliveries_total\{result="retried"\} 1$/m);
    expect(text).toMatch(/^sensor_alerts_webhook_deliveries_total\{result="failed"\} 0$/m);
    expect(text).toMatch(/^sensor_alerts_webhook_deliveries_total\{result="dropped"\} 0$/m);
    expect(text).toMatch(/^sensor_alerts_webhook_queue_depth 0$/m);
    const log = logText.join('\n');
    expect(log).toContain('alert webhook failing');
    expect(log).toContain('alert webhook delivers again');
    expect(log).not.toMatch(/s3cr|hooks\/sensor|source=test/);
  });

  it('without ALERT_WEBHOOK_URL, alert events go nowhere and nothing is counted', async () => {
    const testApp = await createTestApp();
    open.push(testApp);
    expect(() => testApp.container.resolve<AlertEventPublisher>(ALERT_EVENT_PUBLISHER).publish(event('SEN0001'))).not.toThrow();
    expect((await request(testApp.app).get('/metrics').expect(200)).text).not.toMatch(/^sensor_alerts_webhook_deliveries_total\{/m);
  });

  it('the OpenAPI document describes the event as the AlertEvent component', async () => {
    const testApp = await createTestApp();
    open.push(testApp);
    const document = (await request(testApp.app).get('/openapi.json').expect(200)).body;
    const schema = document.components.schemas.AlertEvent;
    expect(Object.keys(schema.properties)).toEqual(['sensor_id', 'metric', 'state', 'value', 'threshold', 'mean', 'std', 'z_score', 'at', 'reason']);
    expect(schema.required).toEqual(['sensor_id', 'metric', 'state', 'value', 'threshold', 'mean', 'std', 'z_score', 'at']);
    expect(schema.properties.state.enum).toEqual(['raised', 'cleared']);
    expect(schema.description).toContain('ALERT_WEBHOOK_URL');
  });

  it('retries after 500s until the receiver takes the event, then counts one delivery', async () => {
    const hook = (await receiver()).answer({ status: 500 }, { status: 502 }, { status: 500 }, { status: 200 });
    const { publisher, metrics } = publisherFor(hook.url);
    publisher.publish(event('SEN0001'));
    await until(async () => (await deliveries(metrics)).delivered === 1, 'the delivery');
    expect(hook.requests.map((received) => received.body)).toEqual([BODY_SEN0001, BODY_SEN0001, BODY_SEN0001, BODY_SEN0001]);
    expect(new Set(hook.requests.map((received) => received.headers['idempotency-key'])).size).toBe(1);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 3, failed: 0, dropped: 0 });
  });

  it('retries a refused connection until the receiver comes up', async () => {
    const port = await freePort();
    const { publisher, metrics } = publisherFor(`http://127.0.0.1:${port}/in`);
    publisher.publish(event('SEN0001'));
    await until(async () => (await deliveries(metrics)).retried! >= 2, 'two refused attempts');
    const hook = await WebhookReceiver.start(port);
    open.push(hook);
    await until(async () => (await deliveries(metrics)).delivered === 1, 'the delivery once the receiver is up');
    expect(hook.requests.map((received) => [received.url, received.body])).toEqual([['/in', BODY_SEN0001]]);
    expect(await deliveries(metrics)).toMatchObject({ delivered: 1, failed: 0, dropped: 0 });
  });

  it('retries an attempt the receiver does not answer within the request timeout', async () => {
    const hook = (await receiver()).answer('hold');
    const { publisher, metrics } = publisherFor(hook.url, { requestTimeoutMs: 200 });
    publisher.publish(event('SEN0001'));
    await until(async () => (await deliveries(metrics)).delivered === 1, 'the second attempt delivered');
    expect(hook.requests).toHaveLength(2);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 1, failed: 0, dropped: 0 });
  });

  it('does not retry a 400: counted failed, one request only', async () => {
    const hook = (await receiver()).answer({ status: 400 });
    const { publisher, metrics } = publisherFor(hook.url);
    publisher.publish(event('SEN0001'));
    await until(async () => (await deliveries(metrics)).failed === 1, 'the refusal counted');
    // Five times the longest backoff: a retry, were there one, would have come.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.requests).toHaveLength(1);
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 0, failed: 1, dropped: 0 });
    // The next event is delivered: one refusal does not stop the queue.
    publisher.publish(event('SEN0002'));
    await until(async () => (await deliveries(metrics)).delivered === 1, 'the next event');
  });

  it('never blocks publish(): with the receiver stalled, a full queue drops its oldest events, counted, and delivers the rest afterwards', async () => {
    const hook = (await receiver()).answer('hold', 'hold');
    const { publisher, metrics } = publisherFor(hook.url, { queueLimit: 100, concurrency: 2, requestTimeoutMs: 30_000 });
    const started = performance.now();
    for (let index = 0; index < 150; index++) publisher.publish(event(`S${index}`));
    const publishMs = performance.now() - started;
    // Returned before the receiver even saw a request: nothing waited for the network.
    expect(hook.requests).toHaveLength(0);
    expect(publishMs).toBeLessThan(1000);
    // S0 and S1 in flight, S2..S101 queued, then each of S102..S149 pushed out the oldest queued.
    expect(publisher.depth).toBe(102);
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 0, failed: 0, dropped: 48 });
    expect((await metrics.webhookQueueDepth.get()).values[0]!.value).toBe(102);
    await until(() => hook.heldCount === 2, 'the two held requests');
    hook.release(200);
    await until(async () => (await deliveries(metrics)).delivered === 102, 'the rest delivered');
    const sensors = hook.requests.map((received) => (JSON.parse(received.body) as { sensor_id: string }).sensor_id);
    const expected = ['S0', 'S1', ...Array.from({ length: 100 }, (_, index) => `S${index + 50}`)];
    expect([...sensors].sort()).toEqual([...expected].sort());
    expect(sensors).toHaveLength(102);
    expect((await metrics.webhookQueueDepth.get()).values[0]!.value).toBe(0);
  });

  it("keeps one model's events in order, the raise before its clear", async () => {
    const hook = (await receiver()).answer({ status: 500 });
    const { publisher, metrics } = publisherFor(hook.url, { concurrency: 4 });
    publisher.publish(event('SEN0001', 'raised', 5));
    publisher.publish(event('SEN0001', 'cleared', 6));
    await until(async () => (await deliveries(metrics)).delivered === 2, 'both delivered');
    expect(hook.requests.map((received) => (JSON.parse(received.body) as { state: string }).state)).toEqual(['raised', 'raised', 'cleared']);
  });

  it('close() sends what is queued before it returns, within the grace period', async () => {
    const hook = await receiver();
    const { publisher, metrics } = publisherFor(hook.url, { concurrency: 1 });
    hook.answer({ status: 500 });
    for (let index = 0; index < 5; index++) publisher.publish(event(`S${index}`));
    await publisher.close(5000);
    expect(hook.requests.map((received) => (JSON.parse(received.body) as { sensor_id: string }).sensor_id)).toEqual(['S0', 'S0', 'S1', 'S2', 'S3', 'S4']);
    expect(await deliveries(metrics)).toEqual({ delivered: 5, retried: 1, failed: 0, dropped: 0 });
    publisher.publish(event('late'));
    expect(await deliveries(metrics)).toMatchObject({ dropped: 1 });
  });

  it('close() gives up after the grace period on a receiver that never answers: what is left is dropped, counted', async () => {
    const hook = (await receiver()).answer('hold', 'hold', 'hold');
    const { publisher, metrics } = publisherFor(hook.url, { concurrency: 1, requestTimeoutMs: 30_000 });
    for (let index = 0; index < 3; index++) publisher.publish(event(`S${index}`));
    await until(() => hook.heldCount === 1, 'the first request held');
    const started = performance.now();
    await publisher.close(300);
    const closeMs = performance.now() - started;
    expect(closeMs).toBeGreaterThanOrEqual(290);
    expect(closeMs).toBeLessThan(3000);
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 0, failed: 0, dropped: 3 });
    expect(publisher.depth).toBe(0);
  });
});
