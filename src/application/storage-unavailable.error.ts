/** The weights storage cannot serve this operation now (read-only, locked, full, failing disk). */
export class StorageUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`The weights database cannot take this request now: ${reason}.`, options);
    this.name = 'StorageUnavailableError';
  }
}
