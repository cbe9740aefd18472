import pino from 'pino';
import type { LogFields, Logger } from '../../application/ports/logger';
import type { LogFormat, LogLevel } from '../../config';

/** The Logger port over pino: one JSON object per line on stdout; `pretty` for a person at a terminal. */
export class PinoLogger implements Logger {
  readonly pino: pino.Logger;
  /** Logs at info whatever the configured level, except silent. */
  private readonly lifecycleLog: pino.Logger;

  constructor(level: LogLevel, format: LogFormat, destination?: pino.DestinationStream) {
    this.pino =
      format === 'pretty'
        ? pino({ level, transport: { target: 'pino-pretty', options: { destination: 1 } } })
        : pino(
            {
              level,
              base: undefined,
              timestamp: pino.stdTimeFunctions.isoTime,
              formatters: { level: (label) => ({ level: label }) },
            },
            // Synchronous: the last lines before process.exit must not be lost.
            destination ?? pino.destination({ dest: 1, sync: true }),
          );
    this.lifecycleLog = level === 'silent' || level === 'debug' || level === 'info' ? this.pino : this.pino.child({}, { level: 'info' });
  }

  debug(message: string, fields: LogFields = {}): void {
    this.pino.debug(fields, message);
  }

  info(message: string, fields: LogFields = {}): void {
    this.pino.info(fields, message);
  }

  warn(message: string, fields: LogFields = {}): void {
    this.pino.warn(fields, message);
  }

  error(message: string, fields: LogFields = {}): void {
    this.pino.error(fields, message);
  }

  fatal(message: string, fields: LogFields = {}): void {
    this.pino.fatal(fields, message);
  }

  lifecycle(message: string, fields: LogFields = {}): void {
    this.lifecycleLog.info(fields, message);
  }
}
