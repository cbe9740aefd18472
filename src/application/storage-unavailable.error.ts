/** The weights storage cannot serve this operation now (read-only, locked, full, failing disk). */
export class StorageUnavailableError extends Error {
  /** Whether a retry may succeed (a lock, a restarting database); false when only an operator can help. */
  readonly retryable: boolean;

  constructor(
    readonly reason: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(`The weights database cannot take this request now: ${reason}.`, options);
    this.name = 'StorageUnavailableError';
    this.retryable = options?.retryable ?? true;
  }
}
