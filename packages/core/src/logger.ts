/**
 * The logging interface Tether accepts: the part of pino's API it calls, so a pino logger (or
 * anything shaped like it) can be passed as is. Silent by default.
 */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const noop = () => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
