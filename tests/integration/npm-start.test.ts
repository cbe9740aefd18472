import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitForListening, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

/**
 * `kill -TERM <npm's pid>`, as a supervisor stops `npm start`, must reach the server: npm
 * passes the signal to its script's shell, and the script execs node so that the shell is
 * the server.
 */
describe('npm start', () => {
  const directory = makeTempDir();
  let server: ServerProcess | undefined;
  afterAll(() => {
    // Its own process group: whatever is left of it (an orphaned server, if the signal was lost) goes too.
    if (server?.child.pid !== undefined) {
      try {
        process.kill(-server.child.pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    rmSync(directory, { recursive: true, force: true });
  });

  it('stops the server cleanly when npm gets SIGTERM', async () => {
    const child = spawn('npm', ['start', '--silent'], {
      cwd: join(__dirname, '../..'),
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DB_PATH: join(directory, 'sensors.db'), LOG_LEVEL: 'warn' },
      stdio: 'pipe',
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | NodeJS.Signals);
    // Closed once every process holding the pipe (npm, and the server) has exited.
    const closed = once(child.stdout, 'close');
    server = { child, stdout: () => stdout, stderr: () => stderr, exited };
    await waitForListening(server, 30_000);

    child.kill('SIGTERM');
    await exited;
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 15_000)))]);
    clearTimeout(timer);
    expect(stopped).toBe(true);
    const lifecycle = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(lifecycle).toEqual(['sensor-alerts listening', 'shutting down', 'stopped']);
  }, 60_000);
});
