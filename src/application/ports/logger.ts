export const LOGGER = Symbol('Logger');

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** The process cannot go on (an uncaught fault); shown at every level but silent. */
  fatal(message: string, fields?: LogFields): void;
  /** Start and stop: at info, but shown whatever the level (bar silent), so a run always says it started. */
  lifecycle(message: string, fields?: LogFields): void;
}
