import type { Logger } from '../../../src/application/ports/logger';
import type { AlertEvent } from '../../../src/domain/alert-event';
import { parseRetryAfter, retryDelayMs, WebhookAlertEventPublisher, type WebhookDeliveryOptions } from '../../../src/infrastructure/alert-events/webhook-alert-event.publisher';
import { ServiceMetrics } from '../../../src/infrastructure/metrics/service-metrics';

const AT = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));
const event = (sensorId: string, value = 15, metric = 'value'): AlertEvent => ({
  sensorId, metric, state: 'raised', value, threshold: 14, mean: 10, std: 2, zScore: (value - 10) / 2, at: AT,
});

interface Call {
  readonly url: string;
  readonly init: RequestInit;
  readonly at: number;
  readonly body: { sensor_id: string; value: number };
  readonly headers: Record<string, string>;
  answeredAt?: number;
  /** Settles this call: a status (and headers), or an error to reject with. */
  answer(status: number | Error, headers?: Record<string, string>): void;
}

/** A fetch whose calls are answered by the test, one by one, or never. */
function scriptedFetch() {
  const calls: Call[] = [];
  const fetch = (url: string, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      init.signal?.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
      calls.push({
        url,
        init,
        at: Date.now(),
        body: JSON.parse(init.body as string),
        headers: init.headers as Record<string, string>,
        answer(status, headers) {
          this.answeredAt = Date.now();
          return status instanceof Error ? reject(status) : resolve(new Response(status === 204 ? null : 'ok', { status, headers }));
        },
      });
    });
  return { calls, fetch: fetch as unknown as typeof globalThis.fetch };
}

const refused = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });

class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  debug = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'debug', message, fields });
  info = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'info', message, fields });
  warn = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'warn', message, fields });
  error = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'error', message, fields });
  fatal = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'fatal', message, fields });
  lifecycle = (message: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'lifecycle', message, fields });
}

async function deliveries(metrics: ServiceMetrics): Promise<Record<string, number>> {
  const { values } = await metrics.webhookDeliveries.get();
  return Object.fromEntries(values.map(({ labels, value }) => [String(labels.result), value]));
}

async function queueDepth(metrics: ServiceMetrics): Promise<number> {
  return (await metrics.webhookQueueDepth.get()).values[0]!.value;
}

describe('retryDelayMs', () => {
  const options = { initialBackoffMs: 1000, maxBackoffMs: 60_000 };

  it('doubles from the initial wait, between half and all of each step (equal jitter), up to the cap', () => {
    const low = { ...options, random: () => 0 };
    const high = { ...options, random: () => 0.999999 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 60].map((retry) => retryDelayMs(retry, low))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect([1, 2, 3, 7, 1000].map((retry) => retryDelayMs(retry, high))).toEqual([1000, 2000, 4000, 60_000, 60_000]);
    expect(retryDelayMs(3, { ...options, random: () => 0.5 })).toBe(3000);
  });

  it("takes the receiver's Retry-After instead, up to the cap", () => {
    const random = () => 0;
    expect(retryDelayMs(1, { ...options, random }, 7000)).toBe(7000);
    expect(retryDelayMs(5, { ...options, random }, 0)).toBe(0);
    expect(retryDelayMs(1, { ...options, random }, 3_600_000)).toBe(60_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 30, 12, 0, 0);
  it('reads delay-seconds and HTTP-dates (a past date is 0), and ignores anything else', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 30 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 30 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});

describe('WebhookAlertEventPublisher', () => {
  let metrics: ServiceMetrics;
  let logger: RecordingLogger;
  let server: ReturnType<typeof scriptedFetch>;
  let publisher: WebhookAlertEventPublisher;
  const make = (options: Partial<WebhookDeliveryOptions> = {}, url = 'https://hooks.example.com/alerts?token=abc') =>
    new WebhookAlertEventPublisher(url, metrics, logger, { random: () => 0, fetch: server.fetch, ...options });

  beforeEach(() => {
    jest.useFakeTimers({ now: Date.UTC(2026, 10, 30, 12, 0, 0) });
    metrics = new ServiceMetrics();
    logger = new RecordingLogger();
    server = scriptedFetch();
  });

  /** Answers the latest call, then lets time run to the next timer: the backoff's end, when it retries. */
  const answerThenNextTimer = async (status: number | Error, headers?: Record<string, string>) => {
    server.calls.at(-1)!.answer(status, headers);
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersToNextTimerAsync();
  };
  const waitsBeforeEachRetry = () => server.calls.slice(1).map((call, index) => call.at - server.calls[index]!.answeredAt!);

  afterEach(async () => {
    // Whatever a test left in flight is abandoned at once.
    const closed = publisher?.close(0);
    await jest.advanceTimersByTimeAsync(1);
    await closed;
    jest.useRealTimers();
  });

  it('POSTs the JSON with its content type and an Idempotency-Key, and counts the delivery', async () => {
    publisher = make();
    publisher.publish(event('SEN0001'));
    expect(server.calls).toHaveLength(1);
    const [call] = server.calls;
    expect(call!.url).toBe('https://hooks.example.com/alerts?token=abc');
    expect(call!.init.method).toBe('POST');
    expect(call!.init.redirect).toBe('manual');
    expect(call!.init.body).toBe('{"sensor_id":"SEN0001","metric":"value","state":"raised","value":15,"threshold":14,"mean":10,"std":2,"z_score":2.5,"at":"2026-11-30T12:00:00.000Z"}');
    expect(call!.headers['content-type']).toBe('application/json');
    expect(call!.headers['idempotency-key']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(call!.headers.authorization).toBeUndefined();
    expect(await queueDepth(metrics)).toBe(1);
    call!.answer(204);
    await jest.advanceTimersByTimeAsync(0);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 0, failed: 0, dropped: 0 });
    expect(await queueDepth(metrics)).toBe(0);
    expect(logger.lines).toEqual([]);
  });

  it('sends credentials in the URL as Basic auth, not in the URL (fetch refuses those), and never logs them', async () => {
    publisher = make({}, 'https://hook%40user:p%3Ass@hooks.example.com:8443/in');
    publisher.publish(event('SEN0001'));
    const [call] = server.calls;
    expect(call!.url).toBe('https://hooks.example.com:8443/in');
    expect(call!.headers.authorization).toBe(`Basic ${Buffer.from('hook@user:p:ss').toString('base64')}`);
    call!.answer(500);
    await jest.advanceTimersByTimeAsync(0);
    expect(logger.lines).toEqual([{ level: 'warn', message: 'alert webhook failing; events are retried, or dropped when refused (3xx, 4xx)', fields: { webhook: 'https://hooks.example.com:8443', reason: 'HTTP 500' } }]);
    expect(JSON.stringify(logger.lines)).not.toMatch(/p%3Ass|p:ss|hook@user|\/in/);
  });

  it('retries 5xx, 408, 429 and network errors with doubling waits, honouring Retry-After, with the same Idempotency-Key', async () => {
    publisher = make({ initialBackoffMs: 1000 });
    publisher.publish(event('SEN0001'));
    const answers: Array<[number | Error, Record<string, string>?]> = [[500], [503, { 'retry-after': '7' }], [refused()], [408], [429], [502]];
    for (const [status, headers] of answers) await answerThenNextTimer(status, headers);
    server.calls.at(-1)!.answer(200);
    await jest.advanceTimersByTimeAsync(0);
    // random 0: half of each step, 500, 1000, 2000, ...; the 503's Retry-After (7 s) replaces the second.
    expect(waitsBeforeEachRetry()).toEqual([500, 7000, 2000, 4000, 8000, 16_000]);
    expect(new Set(server.calls.map((call) => call.headers['idempotency-key'])).size).toBe(1);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 6, failed: 0, dropped: 0 });
    // One line when it starts failing, one when it recovers: not one per attempt.
    expect(logger.lines.map(({ level, message, fields }) => [level, message, fields?.reason ?? fields?.failedAttempts])).toEqual([
      ['warn', 'alert webhook failing; events are retried, or dropped when refused (3xx, 4xx)', 'HTTP 500'],
      ['info', 'alert webhook delivers again', 6],
    ]);
  });

  it('retries an attempt that gets no answer within the request timeout', async () => {
    publisher = make({ requestTimeoutMs: 2000, initialBackoffMs: 100 });
    publisher.publish(event('SEN0001'));
    await jest.advanceTimersByTimeAsync(1999);
    expect(server.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(await deliveries(metrics)).toMatchObject({ retried: 1 });
    expect(logger.lines[0]!.fields!.reason).toBe('no answer within 2000 ms');
    await jest.advanceTimersByTimeAsync(50);
    expect(server.calls).toHaveLength(2);
    expect(server.calls[1]!.at - server.calls[0]!.at).toBe(2050);
    server.calls[1]!.answer(200);
    await jest.advanceTimersByTimeAsync(0);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 1, failed: 0, dropped: 0 });
  });

  it('describes a refused connection by its code', async () => {
    publisher = make();
    publisher.publish(event('SEN0001'));
    server.calls[0]!.answer(refused());
    await jest.advanceTimersByTimeAsync(0);
    expect(logger.lines[0]!.fields!.reason).toBe('connect ECONNREFUSED 127.0.0.1:9');
  });

  it.each([400, 401, 404, 410, 422, 301, 307])('does not retry a %d: counted failed and logged', async (status) => {
    publisher = make();
    publisher.publish(event('SEN0001'));
    server.calls[0]!.answer(status, status < 400 ? { location: 'https://elsewhere.example.com/' } : {});
    await jest.advanceTimersByTimeAsync(600_000);
    expect(server.calls).toHaveLength(1);
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 0, failed: 1, dropped: 0 });
    expect(logger.lines.map(({ message }) => message)).toEqual(['alert webhook failing; events are retried, or dropped when refused (3xx, 4xx)', 'alert webhook lost events']);
    expect(logger.lines[1]!.fields).toMatchObject({ failed: 1, dropped: 0 });
  });

  it('gives an event up (failed) when the next retry would fall past retryForMs', async () => {
    publisher = make({ initialBackoffMs: 1000, retryForMs: 10_000 });
    publisher.publish(event('SEN0001'));
    // Waits of 500 ms, 1 s, 2 s, 4 s: the fifth attempt fails 7.5 s after the first (answered at once);
    // the next, 8 s later, would fall past 10 s.
    for (let attempt = 0; attempt < 5; attempt++) await answerThenNextTimer(500);
    expect(server.calls.map((call) => call.at - server.calls[0]!.at)).toEqual([0, 500, 1500, 3500, 7500]);
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 4, failed: 1, dropped: 0 });
    expect(await queueDepth(metrics)).toBe(0);
  });

  it('never blocks or throws: a full queue drops its oldest waiting event, counted, and keeps the newest', async () => {
    publisher = make({ queueLimit: 10_000, concurrency: 1, requestTimeoutMs: 3_600_000 });
    const started = performance.now();
    for (let index = 0; index < 10_005; index++) publisher.publish(event(`S${index}`, index));
    expect(performance.now() - started).toBeLessThan(5000); // a loose bound: it must not wait for any delivery
    // S0 is in flight; S1..S10004 queued, of which the 4 oldest went for the 4 over the limit.
    expect(server.calls).toHaveLength(1);
    expect(publisher.depth).toBe(10_001);
    expect(await queueDepth(metrics)).toBe(10_001);
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 0, failed: 0, dropped: 4 });
    expect(logger.lines).toEqual([expect.objectContaining({ level: 'warn', message: 'alert webhook lost events', fields: expect.objectContaining({ dropped: 1 }) })]);
    for (let index = 0; index < 3; index++) {
      server.calls.at(-1)!.answer(200);
      await jest.advanceTimersByTimeAsync(0);
    }
    expect(server.calls.map((call) => call.body.sensor_id)).toEqual(['S0', 'S5', 'S6', 'S7']);
    // The other three drops were logged once, together, a minute after the first line.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]!.fields).toMatchObject({ dropped: 3, failed: 0 });
  });

  it('sends events of one sensor and metric one at a time and in order, others alongside, up to the concurrency', async () => {
    publisher = make({ concurrency: 3 });
    for (const [sensor, value, metric] of [['A', 1], ['A', 2], ['B', 3], ['A', 4, 'x'], ['C', 5], ['D', 6]] as const) publisher.publish(event(sensor, value, metric));
    expect(server.calls.map((call) => call.body.value)).toEqual([1, 3, 4]);
    server.calls[1]!.answer(200); // B
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls.map((call) => call.body.value)).toEqual([1, 3, 4, 5]);
    server.calls[0]!.answer(500); // A 1: retried, still holding A
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls.map((call) => call.body.value)).toEqual([1, 3, 4, 5]);
    server.calls[2]!.answer(200); // A/x
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls.map((call) => call.body.value)).toEqual([1, 3, 4, 5, 6]);
    await jest.advanceTimersByTimeAsync(500);
    expect(server.calls.map((call) => call.body.value)).toEqual([1, 3, 4, 5, 6, 1]);
    server.calls[5]!.answer(200);
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls.map((call) => call.body.value)).toEqual([1, 3, 4, 5, 6, 1, 2]);
  });

  it('close() delivers what it holds within the grace period, then abandons the rest (dropped) and takes nothing new', async () => {
    publisher = make({ concurrency: 1, initialBackoffMs: 1000 });
    publisher.publish(event('A'));
    publisher.publish(event('B'));
    publisher.publish(event('C'));
    let closed = false;
    const closing = publisher.close(3000).then(() => (closed = true));
    publisher.publish(event('late'));
    server.calls[0]!.answer(200);
    await jest.advanceTimersByTimeAsync(0);
    server.calls[1]!.answer(500); // B waits 500 ms, then is retried within the grace
    await jest.advanceTimersByTimeAsync(500);
    expect(server.calls.map((call) => call.body.sensor_id)).toEqual(['A', 'B', 'B']);
    expect(closed).toBe(false);
    await jest.advanceTimersByTimeAsync(2499);
    expect(closed).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await closing;
    // B in flight at the deadline is aborted, C never started: both dropped, with 'late'.
    expect(server.calls.map((call) => call.body.sensor_id)).toEqual(['A', 'B', 'B']);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 1, failed: 0, dropped: 3 });
    expect(publisher.depth).toBe(0);
  });

  it('close() returns as soon as everything is delivered', async () => {
    publisher = make();
    publisher.publish(event('A'));
    let closed = false;
    const closing = publisher.close(5000).then(() => (closed = true));
    await jest.advanceTimersByTimeAsync(10);
    expect(closed).toBe(false);
    server.calls[0]!.answer(200);
    await jest.advanceTimersByTimeAsync(0);
    await closing;
    expect(closed).toBe(true);
    expect(Date.now() - Date.UTC(2026, 10, 30, 12, 0, 0)).toBe(10);
    expect(await deliveries(metrics)).toEqual({ delivered: 1, retried: 0, failed: 0, dropped: 0 });
  });

  it('survives a fault of its own while delivering: logged, the model released, no unhandled rejection', async () => {
    publisher = make();
    logger.warn = () => {
      throw new Error('log sink broken');
    };
    publisher.publish(event('A'));
    server.calls[0]!.answer(500);
    await jest.advanceTimersByTimeAsync(0);
    expect(logger.lines).toEqual([{ level: 'error', message: 'alert webhook: delivery fault', fields: { error: 'log sink broken' } }]);
    expect(publisher.depth).toBe(0);
    publisher.publish(event('A'));
    expect(server.calls).toHaveLength(2);
  });

  it('logs what a shutdown lost in one line, in flight and waiting together', async () => {
    publisher = make({ concurrency: 1, requestTimeoutMs: 3_600_000 });
    publisher.publish(event('A'));
    publisher.publish(event('B'));
    publisher.publish(event('C'));
    const closed = publisher.close(0);
    await jest.advanceTimersByTimeAsync(1);
    await closed;
    expect(await deliveries(metrics)).toEqual({ delivered: 0, retried: 0, failed: 0, dropped: 3 });
    expect(logger.lines).toEqual([{ level: 'warn', message: 'alert webhook lost events', fields: expect.objectContaining({ dropped: 3, failed: 0 }) }]);
  });

  it('counts a publish() that cannot queue as a log line, never a throw', () => {
    publisher = make();
    const broken = { ...event('A'), at: new Date(Number.NaN) };
    expect(() => publisher.publish(broken)).not.toThrow();
    expect(logger.lines).toEqual([{ level: 'error', message: 'alert webhook: could not queue an event', fields: { error: 'Invalid time value' } }]);
  });
});
