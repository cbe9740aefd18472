
const HELP = `Usage: sensor-alerts serve
       npm start
       node dist/src/main.js

Runs the REST API until SIGTERM or SIGINT. Takes no arguments: it is configured by
environment variables, read once at start (a bad value stops it with one line naming the
variable). The main ones:

  PORT              TCP port (default 3000)
  HOST              interface to listen on (default 0.0.0.0)
  DB_PATH           the SQLite weights file (default data/sensors.db; created if missing)
  DATABASE_URL      postgres://...: keep the weights in PostgreSQL instead of DB_PATH
  API_TOKEN         when set, writes need Authorization: Bearer <token>
  API_TOKEN_READS   true: reads and predictions need the token too
  LOG_LEVEL         debug, info (default), warn, error or silent
  SHUTDOWN_DELAY_MS how long /ready answers 503 on SIGTERM before the server stops

Every variable, with its default and meaning: README.md, "Configuration".
Under a supervisor (systemd, Docker, Kubernetes), run node bin/sensor-alerts.js serve or
node dist/src/main.js itself rather than npm start: npm start passes SIGTERM on only
because its script execs node, and a wrapper around npm may not.

Options:
  -h, --help        this text

Example:
  PORT=4000 DB_PATH=/var/lib/sensor-alerts/sensors.db sensor-alerts serve

Exit codes: 0 stopped by a signal; 1 the start failed (one line on stderr); 2 bad arguments.
`;

const VARIABLES = new Set([...HELP.matchAll(/^ {2}([A-Z][A-Z_]+) /gm)].map(([, name]) => name!));

/**
 * The server's command line: `--help` prints HELP; any argument is refused, since the server
 * takes its settings from the environment and silently ignoring `--port 4000` would start
 * it where nobody expects. Returns whether to start; on a refusal one line is written and
 * exitCode set to 2, as for the other commands' usage errors.
 */
export function acceptServeArguments(args: string[]): boolean {
  if (args.length === 0) return true;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return false;
  }
  const [first] = args as [string];
  const option = /^--?([a-z][\w-]*)/i.exec(first)?.[1];
  // `--port 4000` is most likely meant as PORT=4000: say so when the name is a variable.
  const guess = option?.replaceAll('-', '_').toUpperCase();
  const hint = guess && VARIABLES.has(guess) ? `set the environment variable ${guess} instead` : 'it reads its settings from environment variables';
  const what = option === undefined ? `unexpected argument ${JSON.stringify(first)}` : `unknown option ${first.split('=')[0]}`;
  process.stderr.write(`sensor-alerts serve: ${what}: ${hint} (run with --help for them)\n`);
  process.exitCode = 2;
  return false;
}
