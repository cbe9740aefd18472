import type { Express } from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { loadConfig } from '../../src/config';
import { closeContainer, createContainer } from '../../src/container';
import { createApp } from '../../src/interfaces/http/create-app';
import { Readiness } from '../../src/interfaces/http/readiness';

export interface TestApp {
  readonly app: Express;
  readonly container: DependencyContainer;
  readonly dbPath: string;
  close(): Promise<void>;
}

export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sensor-alerts-test-'));
}

/**
 * The real app over a real SQLite file (or PostgreSQL, given DATABASE_URL in `env`).
 * `configure` may replace registrations before the app resolves them (e.g. a failing repository).
 */
export async function createTestApp(
  options: { dbPath?: string; env?: NodeJS.ProcessEnv; configure?: (container: DependencyContainer) => void } = {},
): Promise<TestApp> {
  const ownDir = options.dbPath ? undefined : makeTempDir();
  const dbPath = options.dbPath ?? join(ownDir!, 'sensors.db');
  const container = await createContainer(loadConfig({ LOG_LEVEL: 'silent', ...options.env, DB_PATH: dbPath }));
  options.configure?.(container);
  container.resolve(Readiness).markReady(); // as main does once listening
  return {
    app: createApp(container),
    container,
    dbPath,
    close: async () => {
      await closeContainer(container);
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
