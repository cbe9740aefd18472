import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * parseArgs for the scripts under scripts/ (benchmarks, checks): `--help` or `-h` prints
 * `usage` and exits 0; an unknown option or a missing value prints Node's one-line reason
 * and the usage on stderr and exits 2, instead of a stack trace.
 */
export function parseScriptArguments<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    process.stderr.write(`${(error instanceof Error ? error.message : String(error)).split('\n')[0]}\n${usage}\n`);
    process.exit(2);
  }
}
