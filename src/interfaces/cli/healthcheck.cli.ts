// The container's HEALTHCHECK: exit 0 when this instance's /health answers 200 within 2 s.
// Plain Node, so the image needs no curl.
import { loadConfig } from '../../config';
import { parseCliArguments } from './cli-arguments';

const HELP = `Usage: node dist/src/interfaces/cli/healthcheck.cli.js

Asks this machine's server (http://127.0.0.1:PORT/health, PORT as the server reads it) whether
it is healthy: the container image's HEALTHCHECK. Takes no arguments.

Options:
  -h, --help   this text

Example:
  PORT=3000 node dist/src/interfaces/cli/healthcheck.cli.js && echo healthy

Exit codes: 0 /health answered 200 within 2 s; 1 anything else.
`;

try {
  if (parseCliArguments({ help: HELP, options: {} })) {
    const { port } = loadConfig();
    fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
      .then((response) => process.exit(response.status === 200 ? 0 : 1))
      .catch(() => process.exit(1));
  }
} catch (error) {
  process.stderr.write(`healthcheck: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
