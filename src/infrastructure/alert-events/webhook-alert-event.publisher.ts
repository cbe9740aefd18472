import { randomUUID } from 'node:crypto';
import type { AlertEventPublisher } from '../../application/ports/alert-event.publisher';
import type { Logger } from '../../application/ports/logger';
import type { AlertEvent } from '../../domain/alert-event';
import { errorCode, errorMessage } from '../error-shape';
import type { ServiceMetrics } from '../metrics/service-metrics';
import { alertEventJson } from './alert-event-message';
import { modelKey } from '../../domain/identifier-rule';

export interface WebhookDeliveryOptions {
  /** Events waiting (not yet being sent) at most; a new event beyond it drops the oldest waiting one. */
  readonly queueLimit: number;
  /** Requests in flight at most. Events of one sensor and metric are still sent one at a time, in order. */
  readonly concurrency: number;
  /** One attempt (connect, send, response headers) gets this long, then counts as failed and is retried. */
  readonly requestTimeoutMs: number;
  /** The wait before the first retry; doubled for each next one, up to maxBackoffMs, with jitter. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** An event still undelivered this long after its first attempt is given up (counted failed). */
  readonly retryForMs: number;
  /** close() keeps delivering for this long, then abandons what is left (counted dropped). */
  readonly closeGraceMs: number;
  /** Losses (failed, dropped) are logged at most once per this interval, with their counts. */
  readonly lossLogIntervalMs: number;
  /** In [0, 1): the jitter's source. */
  readonly random: () => number;
  readonly fetch: typeof fetch;
}

export const WEBHOOK_DEFAULTS: WebhookDeliveryOptions = {
  queueLimit: 10_000,
  concurrency: 4,
  requestTimeoutMs: 10_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  retryForMs: 15 * 60_000,
  closeGraceMs: 5_000,
  lossLogIntervalMs: 60_000,
  random: Math.random,
  fetch: (input, init) => fetch(input, init),
};

/** Results counted in sensor_alerts_webhook_deliveries_total. */
export type WebhookDeliveryResult = 'delivered' | 'retried' | 'failed' | 'dropped';

interface Pending {
  /** Sensor and metric: events of one model are sent in order, never two at once. */
  readonly key: string;
  /** The Idempotency-Key header, the same on every attempt, so a receiver can drop a repeat. */
  readonly id: string;
  readonly body: string;
}

type Attempt =
  | { readonly outcome: 'delivered' }
  | { readonly outcome: 'retry'; readonly reason: string; readonly retryAfterMs: number | undefined }
  | { readonly outcome: 'refused'; readonly reason: string }
  | { readonly outcome: 'abandoned' };

/**
 * The wait before retry number `retry` (1 for the first): exponential, capped, with "equal
 * jitter" (between half and all of the step) so that many replicas or events failing together
 * do not retry in lockstep, yet each wait is at least half its step. A receiver's Retry-After
 * replaces it, up to the cap: honoured when sensible, never an hour-long stall of the queue.
 */
export function retryDelayMs(retry: number, options: Pick<WebhookDeliveryOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'random'>, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, options.maxBackoffMs);
  const step = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** Math.min(retry - 1, 52));
  return Math.round(step / 2 + (options.random() * step) / 2);
}

/** A Retry-After header (delay-seconds or an HTTP-date) in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day and month; V8's lenient Date.parse would take "-5" or "1.5" too.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * POSTs each alert event (alertEventJson) to ALERT_WEBHOOK_URL. publish() only queues and
 * returns: ingestion never waits for the receiver. Delivery is at least once while the process
 * lives: network errors, timeouts, 408, 429 and 5xx are retried with backoff; other answers
 * (3xx: redirects are not followed; 4xx) refuse the event for good. The queue lives in memory:
 * what it holds when the process dies is lost.
 */
export class WebhookAlertEventPublisher implements AlertEventPublisher {
  private readonly options: WebhookDeliveryOptions;
  private readonly target: string;
  private readonly headers: Record<string, string>;
  /** For logs: scheme, host and port only; a webhook's path or query often is its secret. */
  private readonly shownUrl: string;
  private readonly waiting: Pending[] = [];
  private readonly busyKeys = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  /** Fired when close() gives up: aborts requests in flight and wakes retries that wait. */
  private readonly abandon = new AbortController();
  private closing: Promise<void> | undefined;
  private failing = false;
  private failedAttemptsSinceHealthy = 0;
  private lostSinceLog = { failed: 0, dropped: 0 };
  private lossLoggedAt = -Infinity;
  private lossLogTimer: NodeJS.Timeout | undefined;

  constructor(
    url: string,
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
    options: Partial<WebhookDeliveryOptions> = {},
  ) {
    this.options = { ...WEBHOOK_DEFAULTS, ...options };
    const parsed = new URL(url);
    this.headers = { 'content-type': 'application/json', 'user-agent': 'sensor-alerts' };
    // fetch refuses a URL with credentials in it: they travel as Basic auth instead.
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    this.target = parsed.href;
    this.shownUrl = parsed.origin;
    for (const result of ['delivered', 'retried', 'failed', 'dropped'] as const) metrics.webhookDeliveries.inc({ result }, 0);
    metrics.watchWebhookQueue(() => this.waiting.length + this.busyKeys.size);
  }

  publish(event: AlertEvent): void {
    try {
      if (this.closing) {
        this.lose('dropped');
        return;
      }
      if (this.waiting.length >= this.options.queueLimit) {
        // The oldest goes: the newest transition is the model's current state, the one a
        // receiver most needs; a stale raise already followed by its clear matters least.
        this.waiting.shift();
        this.lose('dropped');
      }
      this.waiting.push({ key: modelKey(event.sensorId, event.metric), id: randomUUID(), body: alertEventJson(event) });
      this.startDeliveries();
    } catch (error) {
      // The port's promise: publish never throws into ingestion.
      this.logger.error('alert webhook: could not queue an event', { error: errorMessage(error) });
    }
  }

  /** Events waiting or being sent now. */
  get depth(): number {
    return this.waiting.length + this.busyKeys.size;
  }

  /**
   * Takes no new events, keeps delivering for up to `graceMs` (retries included), then aborts
   * what is in flight and drops what is left, counted and logged. Resolves when all is settled.
   */
  close(graceMs = this.options.closeGraceMs): Promise<void> {
    this.closing ??= this.shutDown(graceMs);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
    clearTimeout(graceTimer);
    if (this.depth > 0) {
      const left = this.waiting.splice(0).length;
      for (let index = 0; index < left; index++) this.lose('dropped');
      this.abandon.abort();
      await this.idle();
    }
    clearTimeout(this.lossLogTimer);
    try {
      this.logLosses();
    } catch {
      // The logger itself failed: there is no one left to tell, and closing must still end.
    }
  }

  private idle(): Promise<void> {
    return this.depth === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private startDeliveries(): void {
    while (this.busyKeys.size < this.options.concurrency && this.waiting.length > 0) {
      // The oldest event whose model has nothing in flight; usually the first.
      const index = this.waiting.findIndex((pending) => !this.busyKeys.has(pending.key));
      if (index < 0) return;
      const [pending] = this.waiting.splice(index, 1) as [Pending];
      this.busyKeys.add(pending.key);
      void this.deliver(pending)
        // deliver() handles every failure of the request itself; this is for a fault of ours, which
        // must not become an unhandled rejection (fatal for the process).
        .catch((error: unknown) => this.logger.error('alert webhook: delivery fault', { error: errorMessage(error) }))
        .finally(() => {
          this.busyKeys.delete(pending.key);
          this.startDeliveries();
          if (this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        });
    }
  }

  private async deliver(pending: Pending): Promise<void> {
    const firstAttemptAt = Date.now();
    for (let retry = 1; ; retry++) {
      const attempt = await this.attempt(pending);
      if (attempt.outcome === 'abandoned') return this.lose('dropped');
      if (attempt.outcome === 'delivered') return this.delivered();
      this.noteFailure(attempt.reason);
      if (attempt.outcome === 'refused') return this.lose('failed');
      const delay = retryDelayMs(retry, this.options, attempt.retryAfterMs);
      if (Date.now() + delay - firstAttemptAt > this.options.retryForMs) return this.lose('failed');
      this.metrics.webhookDeliveries.inc({ result: 'retried' });
      if (!(await this.sleep(delay))) return this.lose('dropped');
    }
  }

  private async attempt(pending: Pending): Promise<Attempt> {
    if (this.abandon.signal.aborted) return { outcome: 'abandoned' };
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.options.requestTimeoutMs);
    const onAbandon = () => timeout.abort();
    this.abandon.signal.addEventListener('abort', onAbandon);
    try {
      const response = await this.options.fetch(this.target, {
        method: 'POST',
        headers: { ...this.headers, 'idempotency-key': pending.id },
        body: pending.body,
        signal: timeout.signal,
        redirect: 'manual',
      });
      // Nothing in the answer is used; cancelling frees the connection without reading a body of any size.
      await response.body?.cancel().catch(() => undefined);
      const { status } = response;
      if (status >= 200 && status < 300) return { outcome: 'delivered' };
      const reason = `HTTP ${status}`;
      if (status === 408 || status === 429 || status >= 500) return { outcome: 'retry', reason, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), Date.now()) };
      return { outcome: 'refused', reason: status < 400 ? `${reason} (redirects are not followed)` : reason };
    } catch (error) {
      if (this.abandon.signal.aborted) return { outcome: 'abandoned' };
      const reason = timeout.signal.aborted ? `no answer within ${this.options.requestTimeoutMs} ms` : describeFetchError(error);
      return { outcome: 'retry', reason, retryAfterMs: undefined };
    } finally {
      clearTimeout(timer);
      this.abandon.signal.removeEventListener('abort', onAbandon);
    }
  }

  /** Waits `ms`; false when close() abandoned the wait. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.abandon.signal.aborted) return resolve(false);
      const onAbandon = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.abandon.signal.removeEventListener('abort', onAbandon);
        resolve(true);
      }, ms);
      this.abandon.signal.addEventListener('abort', onAbandon, { once: true });
    });
  }

  private delivered(): void {
    this.metrics.webhookDeliveries.inc({ result: 'delivered' });
    if (this.failing) {
      this.failing = false;
      this.logger.info('alert webhook delivers again', { webhook: this.shownUrl, failedAttempts: this.failedAttemptsSinceHealthy });
    }
    this.failedAttemptsSinceHealthy = 0;
  }

  /** Logged once when deliveries start failing, not per attempt; delivered() logs the recovery. */
  private noteFailure(reason: string): void {
    this.failedAttemptsSinceHealthy++;
    if (this.failing) return;
    this.failing = true;
    // Said once for both kinds of failure: retried (5xx, 408, 429, network) or refused for good (3xx, other 4xx).
    this.logger.warn('alert webhook failing; events are retried, or dropped when refused (3xx, 4xx)', { webhook: this.shownUrl, reason });
  }

  /** Counts an event lost for good and logs the losses, at most once per lossLogIntervalMs. */
  private lose(result: 'failed' | 'dropped'): void {
    this.metrics.webhookDeliveries.inc({ result });
    this.lostSinceLog[result]++;
    // While closing, the losses are logged once, when all is settled (shutDown).
    if (this.lossLogTimer || this.closing) return;
    const wait = this.lossLoggedAt + this.options.lossLogIntervalMs - Date.now();
    if (wait <= 0) return this.logLosses();
    this.lossLogTimer = setTimeout(() => this.logLosses(), wait);
    this.lossLogTimer.unref();
  }

  private logLosses(): void {
    this.lossLogTimer = undefined;
    const { failed, dropped } = this.lostSinceLog;
    if (failed + dropped === 0) return;
    this.lostSinceLog = { failed: 0, dropped: 0 };
    this.lossLoggedAt = Date.now();
    this.logger.warn('alert webhook lost events', {
      webhook: this.shownUrl,
      failed,
      dropped,
      why: 'failed: refused by the receiver (not 408, 429 or 5xx) or still undelivered when retries ran out; dropped: the queue was full (oldest first) or the service stopped first',
    });
  }
}

/** fetch says only "fetch failed"; the cause holds the useful part (ECONNREFUSED, a TLS error). */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error;
  const code = errorCode(cause);
  const message = errorMessage(cause);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
