import { z } from 'zod';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const APP_CONFIG = Symbol('AppConfig');

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly dbPath: string;
  /** As body-parser reads it: bytes, or a size such as `16mb`. */
  readonly bodyLimit: string;
  readonly logLevel: LogLevel;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// An empty variable (PORT= in a compose file) means "use the default", like an unset one.
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((raw) => (raw === '' ? undefined : raw), schema.optional());

const environmentSchema = z.object({
  PORT: optional(z.coerce.number().int().min(0).max(65535)).default(3000),
  HOST: optional(z.string()).default('0.0.0.0'),
  DB_PATH: optional(z.string()).default('data/sensors.db'),
  BODY_LIMIT: optional(
    z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'expected a size such as 16mb, 512kb or 1048576'),
  ).default('16mb'),
  LOG_LEVEL: optional(z.enum(LOG_LEVELS)).default('info'),
});

/** Reads the service's settings once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(env[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const { PORT, HOST, DB_PATH, BODY_LIMIT, LOG_LEVEL } = parsed.data;
  return { port: PORT, host: HOST, dbPath: DB_PATH, bodyLimit: BODY_LIMIT, logLevel: LOG_LEVEL };
}
