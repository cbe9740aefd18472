import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const MAIN = join(__dirname, '../../dist/src/main.js');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or the signal that killed it). */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/** Runs the built server (`npm start` without the build) with the given environment. */
export function spawnServer(env: NodeJS.ProcessEnv, cwd?: string, user?: { uid: number; gid: number }): ServerProcess {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, cwd, stdio: 'pipe', ...user });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | NodeJS.Signals);
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits for the "listening" log line and returns the server's loopback URL. */
export async function waitForListening(server: ServerProcess, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = server
      .stdout()
      .split('\n')
      .find((candidate) => candidate.includes('"sensor-alerts listening"'));
    if (line) {
      const { port } = new URL((JSON.parse(line) as { url: string }).url);
      return `http://127.0.0.1:${port}`;
    }
    if (server.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`server did not start: ${server.stderr() || server.stdout()}`);
}
