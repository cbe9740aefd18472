import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { IdempotencyScope, IdempotencyStore } from '../../application/ports/idempotency.store';
import type { Logger } from '../../application/ports/logger';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import { MetricName } from '../../domain/metric-name';
import { Sensor } from '../../domain/sensor';
import { HttpProblem, problemType } from './http-problem';
import { idempotencyKeySchema, metricQuerySchema } from './request-schemas';
import { parseQuery } from './validation';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

// A key whose release failed (the database down when its request failed) is released again
// after 1, 2, 4... s, up to a minute apart: about 8 minutes in all.
const RELEASE_ATTEMPTS = 10;
const RELEASE_RETRY_FIRST_MS = 1000;
const RELEASE_RETRY_MAX_MS = 60_000;

type SensorRequest = Request<{ sensor_id: string }>;
type SensorHandler = (req: SensorRequest, res: Response) => Promise<void>;

/**
 * The Idempotency-Key header (IETF draft "The Idempotency-Key HTTP Header Field") for the
 * writes: the first request with a key runs, and its answer is kept for 24 h; a retry with
 * the same key and the same body gets that answer again (status and body) and changes
 * nothing; the same key with another body is a 422, and a retry while the first still runs
 * a 409. Keys are scoped per route and model. A request that fails (any 4xx or 5xx) changed
 * nothing, so its key is forgotten and a retry runs again, except a write the database may
 * have applied before its connection was lost (StorageUnavailableError.outcomeUnknown): its
 * key stays in flight until it expires, so that a retry cannot apply it twice. A claim of
 * the key whose own answer was lost never ran its write: that claim alone is released. A
 * release the database cannot take is tried again in the background for a few minutes.
 * Without the header, the handler runs as it is.
 */
export function idempotentWrites(store: IdempotencyStore, logger: Logger) {
  type Claim = Parameters<IdempotencyStore['release']>[1];
  const releaseLater = (scope: IdempotencyScope, requestId: string, attempt: number, claim?: Claim): void => {
    const delay = Math.min(RELEASE_RETRY_MAX_MS, RELEASE_RETRY_FIRST_MS * 2 ** (attempt - 1));
    setTimeout(() => {
      store.release(scope, claim).then(
        () => logger.info('idempotency key released after its failed request, on a later attempt', { requestId, attempt: attempt + 1 }),
        (error: unknown) => {
          if (attempt + 1 < RELEASE_ATTEMPTS) releaseLater(scope, requestId, attempt + 1, claim);
          else logger.warn('idempotency key still not released; its retries answer 409 until it expires', { requestId, error: String(error) });
        },
      );
    }, delay).unref();
  };
  return (route: string, handler: SensorHandler): SensorHandler =>
    async (req: SensorRequest, res: Response): Promise<void> => {
      const header = req.get(IDEMPOTENCY_KEY_HEADER);
      if (header === undefined) return handler(req, res);
      const scope = scopeOf(route, req, header);
      const requestFingerprint = fingerprint(req.body);
      const claimedAt = new Date();
      const claim = await store.claim(scope, requestFingerprint, claimedAt).catch((error: unknown) => {
        if (!(error instanceof StorageUnavailableError && error.outcomeUnknown)) throw error;
        // The claim may have been recorded, but nothing ran: release it, or its retries would
        // answer 409 for a day. The request was not applied, and says so.
        const own = { fingerprint: requestFingerprint, claimedAt };
        void store.release(scope, own).catch(() => releaseLater(scope, req.id, 1, own));
        throw new StorageUnavailableError(error.reason, { cause: error, retryable: error.retryable });
      });
      switch (claim.outcome) {
        case 'replay':
          // Stripe's name for it (the IETF draft names none): the first answer, not a new one.
          res.status(claim.answer.status).set('Idempotent-Replayed', 'true').type('application/json').send(claim.answer.body);
          return;
        case 'in-flight':
          throw KEY_IN_FLIGHT;
        case 'other-request':
          throw KEY_REUSED;
      }
      // The handler answers with res.json once it has written: the answer is kept first, so a
      // retry that follows it at once gets it back instead of a 409.
      let answer: unknown;
      const send = res.json.bind(res);
      res.json = (body: unknown) => ((answer = body), res);
      try {
        await handler(req, res);
      } catch (error) {
        if (error instanceof StorageUnavailableError && error.outcomeUnknown) {
          logger.warn('idempotency key kept in flight: the write may have been applied; its retries answer 409 until it expires', { requestId: req.id });
          throw error;
        }
        await store.release(scope).catch((releaseError: unknown) => {
          logger.warn('idempotency key not released after a failed request; trying again in the background, its retries answer 409 meanwhile', {
            requestId: req.id,
            error: String(releaseError),
          });
          releaseLater(scope, req.id, 1);
        });
        throw error;
      } finally {
        res.json = send;
      }
      const body = JSON.stringify(answer);
      // The write is done: a key that cannot be recorded must not turn it into a failure.
      await store.complete(scope, { status: res.statusCode, body }).catch((error: unknown) =>
        logger.warn('idempotency key answer not recorded; its retries answer 409 until it expires', { requestId: req.id, error: String(error) }),
      );
      res.type('application/json').send(body);
    };
}

/** The model the key is scoped to, checked first: a bad id or metric is a 400 that claims nothing. */
function scopeOf(route: string, req: SensorRequest, header: string): IdempotencyScope {
  const sensor = Sensor.withId(req.params.sensor_id);
  const { metric } = parseQuery(metricQuerySchema, req.query);
  // Node joins a repeated header with ", ": say what happened rather than that "a, b" is malformed.
  if ((req.headersDistinct[IDEMPOTENCY_KEY_HEADER.toLowerCase()]?.length ?? 0) > 1) {
    throw invalidKey('The Idempotency-Key header is sent more than once: send it once.', 'Sent more than once');
  }
  const result = idempotencyKeySchema.safeParse(header);
  if (!result.success) throw invalidKey('The Idempotency-Key header must be 1-255 visible ASCII characters.', 'Expected 1-255 visible ASCII characters');
  return { route, sensorId: sensor.id, metric: (metric === undefined ? MetricName.DEFAULT : MetricName.of(metric)).name, key: result.data };
}

function invalidKey(detail: string, reason: string): HttpProblem {
  return new HttpProblem({
    type: problemType('invalid-idempotency-key'),
    title: 'Invalid Idempotency-Key',
    status: 400,
    detail,
    errors: [{ parameter: IDEMPOTENCY_KEY_HEADER, detail: reason }],
  });
}

/** The request as parsed JSON (no body reads as {}, as adjust takes it), hashed. */
function fingerprint(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(body ?? {}))
    .digest('base64url');
}

export const KEY_IN_FLIGHT = new HttpProblem({
  type: problemType('idempotency-key-in-flight'),
  title: 'Request in progress',
  status: 409,
  detail:
    'A request with this Idempotency-Key is still being processed: retry it once that one has been answered. A request cut off before its outcome was known (the database connection lost mid-write, the service stopped) keeps its key until it expires, 24 h after it was first sent: check the model before writing again with a new key.',
});

export const KEY_REUSED = new HttpProblem({
  type: problemType('idempotency-key-reused'),
  title: 'Idempotency-Key reused',
  status: 422,
  detail: 'This Idempotency-Key was sent with another request body to this route and model: use a new key for a new request.',
});
