export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');

/** How long a key is remembered (the IETF draft leaves it to the server; ours is a day). */
export const IDEMPOTENCY_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** Whose key: keys are scoped per route and per model, so one key may serve several models. */
export interface IdempotencyScope {
  readonly route: string;
  readonly sensorId: string;
  readonly metric: string;
  readonly key: string;
}

/** A finished request's answer, replayed to its retries. */
export interface StoredAnswer {
  readonly status: number;
  readonly body: string;
}

export type IdempotencyClaim =
  | { readonly outcome: 'claimed' }
  | { readonly outcome: 'replay'; readonly answer: StoredAnswer }
  | { readonly outcome: 'in-flight' }
  | { readonly outcome: 'other-request' };

/**
 * Where Idempotency-Key records live: beside the models, in the same database (SQLite file
 * or PostgreSQL), so every replica sees every key. Each method rejects with
 * StorageUnavailableError when the storage cannot serve it now, as the weights repository does.
 */
export interface IdempotencyStore {
  /**
   * Atomically: a key unknown (or expired, `now` past its lifetime) is recorded as in flight
   * with the request's fingerprint, and `claimed`; a known one answers `other-request` when
   * the fingerprint differs, else `in-flight` until completed, then `replay` with its answer.
   */
  claim(scope: IdempotencyScope, fingerprint: string, now: Date): Promise<IdempotencyClaim>;

  /** Records the answer of a claimed key, to be replayed until it expires. */
  complete(scope: IdempotencyScope, answer: StoredAnswer): Promise<void>;

  /**
   * Forgets a claimed key whose request failed: a retry runs again (a failed request changed
   * nothing). With `claim`, only while the key is still that claim (same fingerprint, claimed
   * at that instant) and in flight: for a claim whose own answer was lost, which must not
   * forget a claim another request made since.
   */
  release(scope: IdempotencyScope, claim?: { fingerprint: string; claimedAt: Date }): Promise<void>;
}
