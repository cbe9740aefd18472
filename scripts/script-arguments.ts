import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * parseArgs for the scripts under scripts/ (benchmarks, checks): `--help` or `-h` prints
 * `usage` and exits 0; an unknown option, a missing value or an option given twice prints
 * a one-line reason and the usage on stderr and exits 2, instead of a stack trace.
 */
export function parseScriptArguments<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
    // parseArgs keeps the last of an option given twice: which one was meant is anyone's guess
    // (unless it takes several values, as check-replicas' --url does).
    const seen = new Set<string>();
    for (const token of parseArgs({ ...config, tokens: true }).tokens ?? []) {
      if (token.kind !== 'option' || config.options?.[token.name]?.multiple) continue;
      if (seen.has(token.name)) return refuseArguments(usage, `--${token.name} is given more than once`);
      seen.add(token.name);
    }
  } catch (error) {
    return refuseArguments(usage, (error instanceof Error ? error.message : String(error)).split('\n')[0]!);
  }
  return parsed;
}

/**
 * `--NAME`'s value as a whole number from `min` (to `max`, if given) (a count of runs, rounds, readings...);
 * anything else (`x`, `0`, `1.5`) prints one line and the usage, and exits 2.
 */
export function wholeNumberOption(usage: string, name: string, raw: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(raw);
  if (/^\d+$/.test(raw) && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} up` : `from ${min} to ${max}`;
  return refuseArguments(usage, `--${name} must be a whole number ${range} (got ${JSON.stringify(raw)})`);
}

/** `--NAME`'s value as a number from `min` to `max`; anything else prints one line and the usage, and exits 2. */
export function numberOption(usage: string, name: string, raw: string, min: number, max: number): number {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (value >= min && value <= max) return value;
  return refuseArguments(usage, `--${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
}

/** `--NAME`'s comma-separated list of whole numbers, each from `min` up. */
export function wholeNumberListOption(usage: string, name: string, raw: string, min = 1): number[] {
  return raw.split(',').map((item) => wholeNumberOption(usage, name, item.trim(), min));
}

/** A command line the script cannot act on: one line saying why, the usage, exit 2. */
export function refuseArguments(usage: string, reason: string): never {
  process.stderr.write(`${reason}\n${usage}\n`);
  process.exit(2);
}
