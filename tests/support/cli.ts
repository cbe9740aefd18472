import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a bundled CLI (dist/bin/NAME.js) as `npm run NAME` does, with DB_PATH set. */
export function runCli(name: 'train' | 'alerts', args: string[], dbPath: string): CliResult {
  const child = spawnSync(process.execPath, [join(__dirname, `../../dist/bin/${name}.js`), ...args], {
    env: { PATH: process.env.PATH, DB_PATH: dbPath },
    encoding: 'utf8',
    maxBuffer: 64 << 20, // a table of 100,000s of sensors
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}
