import { InvalidReadingsError } from '../../application/invalid-readings.error';
import { StorageUnavailableError } from '../../application/storage-unavailable.error';
import { ConfigError } from '../../config';
import { DomainError } from '../../domain/domain-errors';
import { WeightsStorageOpenError } from '../../weights-storage';
import { UsageError } from './usage.error';

/** Expected failures (bad file, bad config, bad arguments, storage refusing) print one line; anything else keeps its stack. Exit 2 for bad arguments, else 1. */
export function runCli(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${name}: ${oneLine(error)}\n`);
    // 2 for a command line the tool cannot act on, as most Unix tools do: a script can tell it from a failed run.
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
}

function oneLine(error: unknown): string {
  // Its message speaks to an HTTP client ("cannot take this request now"); here, its reason
  // (a read-only file, a lock held past DB_BUSY_TIMEOUT_MS, a full disk...).
  if (error instanceof StorageUnavailableError) return `the weights database is unavailable: ${error.reason}`;
  const expected =
    error instanceof InvalidReadingsError ||
    error instanceof ConfigError ||
    error instanceof DomainError ||
    error instanceof UsageError ||
    error instanceof WeightsStorageOpenError;
  return expected ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error);
}
