import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage.error';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CliDefinition<O extends Options> {
  /** The whole --help text: usage, options, an example, exit codes. */
  readonly help: string;
  readonly options: O;
  /** How many positional arguments the command takes (default none). */
  readonly maxPositionals?: number;
}

/**
 * parseArgs with `--help`/`-h` (prints the help on stdout; returns undefined: the caller just
 * returns) and errors worded for the command line instead of Node's, naming the option and
 * pointing at --help. Throws UsageError.
 */
export function parseCliArguments<O extends Options>(definition: CliDefinition<O>, args: string[] = process.argv.slice(2)) {
  const dashes = args.indexOf('--');
  const options = dashes === -1 ? args : args.slice(0, dashes);
  if (options.includes('--help') || options.includes('-h')) {
    process.stdout.write(definition.help.endsWith('\n') ? definition.help : `${definition.help}\n`);
    return undefined;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: negativeValuesJoined(args, definition.options), options: definition.options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(`${describeParseError(error)} (run with --help for usage)`);
  }
  // parseArgs keeps the last of a repeated option; which one was meant is a guess, so say so
  // (as the API refuses ?sensor=a&sensor=b).
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || definition.options[token.name]?.multiple) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once; give it once (run with --help for usage)`);
    seen.add(token.name);
  }
  const max = definition.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals.slice(max).map((value) => JSON.stringify(value)).join(' ');
    throw new UsageError(`unexpected argument ${extra}${max === 0 ? ', this command takes options only' : ''} (run with --help for usage)`);
  }
  return parsed;
}

/**
 * `--value -3` as `--value=-3`: parseArgs takes any argument starting with a dash for an
 * option, so a negative number after an option that takes a value would be refused.
 */
function negativeValuesJoined(args: string[], options: Options): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const next = args[index + 1];
    if (arg === '--') return [...joined, ...args.slice(index)];
    const option = /^--([\w-]+)$/.exec(arg)?.[1];
    if (option !== undefined && options[option]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      index++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  // Node's messages quote the option as '--name' or '-x, --name <value>'.
  const option = /'(?:-\w, )?(--?[\w-]+)/.exec(text)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? text}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (text.includes('does not take an argument')) return `${option ?? 'an option'} takes no value`;
      // Missing, or followed by something that looks like another option ("ambiguous").
      return `${option ?? 'an option'} needs a value${text.includes('ambiguous') ? ` (one starting with a dash is written ${option ?? '--option'}=-value)` : ''}`;
    default:
      throw error;
  }
}

/**
 * A file path given on the command line, refused when it holds U+FFFD: Node decodes the
 * arguments as UTF-8, and a name that is not UTF-8 arrives with U+FFFD in place of its bad
 * bytes, which may name another file (r\xff.csv would read a file named r\uFFFD.csv).
 */
export function filePathArgument(path: string): string {
  if (path.includes('\uFFFD')) throw new UsageError(`${JSON.stringify(path)}: a file name that is not valid UTF-8 (or holds U+FFFD) cannot be named on the command line; rename the file`);
  return path;
}
