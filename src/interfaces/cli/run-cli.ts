import { InvalidReadingsError } from '../../application/invalid-readings.error';
import { ConfigError } from '../../config';
import { DomainError } from '../../domain/domain-errors';
import { WeightsStorageOpenError } from '../../weights-storage';
import { UsageError } from './usage.error';

/** Expected failures (bad file, bad config, bad arguments) print one line; anything else keeps its stack. Exit 2 for bad arguments, else 1. */
export function runCli(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const expected =
      error instanceof InvalidReadingsError ||
      error instanceof ConfigError ||
      error instanceof DomainError ||
      error instanceof UsageError ||
      error instanceof WeightsStorageOpenError;
    process.stderr.write(`${name}: ${expected ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    // 2 for a command line the tool cannot act on, as most Unix tools do: a script can tell it from a failed run.
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
}
