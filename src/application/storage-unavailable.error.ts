/** The weights storage cannot serve this operation now (read-only, locked, full, failing disk). */
export class StorageUnavailableError extends Error {
  /** Whether a retry may succeed (a lock, a restarting database); false when only an operator can help. */
  readonly retryable: boolean;
  /**
   * The database stopped answering after a write was sent (its connection lost, or no answer
   * in time): it may have been applied. A retry must not assume it was not.
   */
  readonly outcomeUnknown: boolean;

  constructor(
    readonly reason: string,
    options?: { cause?: unknown; retryable?: boolean; outcomeUnknown?: boolean },
  ) {
    super(
      `The weights database cannot take this request now: ${reason}${options?.outcomeUnknown ? '. The write was sent before the connection was lost: whether it was applied is unknown' : ''}.`,
      options,
    );
    this.name = 'StorageUnavailableError';
    this.retryable = options?.retryable ?? true;
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}
