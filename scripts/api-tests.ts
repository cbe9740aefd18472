// Replays the case's sample requests (api_tests/) against a running server and prints each answer.
// Usage: npm run api-tests -- [--url http://localhost:3000] [--dir api_tests]
import { parseArgs } from 'node:util';
import { loadSampleRequests } from './sample-requests';

async function main(): Promise<void> {
  const { values: options } = parseArgs({
    options: { url: { type: 'string', default: 'http://localhost:3000' }, dir: { type: 'string', default: 'api_tests' } },
  });
  for (const sample of loadSampleRequests(options.dir)) {
    const response = await fetch(new URL(sample.path, options.url), {
      method: sample.method,
      ...(sample.method === 'POST' && { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sample.body) }),
    });
    console.log(`${sample.method} ${sample.path}  (${sample.file})\n  -> ${response.status} ${await response.text()}`);
  }
}

main().catch((error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  console.error(`api-tests: ${error instanceof Error ? error.message : String(error)}${cause}`);
  process.exit(1);
});
