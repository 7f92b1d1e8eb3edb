import { type Clock, systemClock } from "./clock.js";

/**
 * The logging interface Tether accepts: the part of pino's API it calls, so a pino logger (or
 * anything shaped like it) can be passed as is. Without one, warnings and errors go to stderr
 * (`stderrLogger`); pass `silentLogger` for none.
 */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const noop = () => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * The default logger: warnings and errors to stderr through `console`, debug and info dropped.
 * At most `linesPerSecond` lines a second (on `clock`), so a flood of refused peers cannot make
 * logging the bottleneck; the next line written says how many were dropped.
 */
export function stderrLogger(clock: Clock = systemClock, linesPerSecond = 20): Logger {
  let windowStart = Number.NEGATIVE_INFINITY;
  let written = 0;
  let dropped = 0;
  const line = (level: "warn" | "error") => (object: object, message?: string) => {
    const now = clock.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      written = 0;
    }
    if (written >= linesPerSecond) {
      dropped++;
      return;
    }
    written++;
    const note = dropped > 0 ? ` (${dropped} earlier lines dropped)` : "";
    dropped = 0;
    const { err, ...fields } = object as { err?: unknown };
    const detail = Object.keys(fields).length > 0 ? ` ${describe(fields)}` : "";
    const text = `[tether] ${level}: ${message ?? ""}${detail}${note}`;
    if (err === undefined) console[level](text);
    else console[level](text, err);
  };
  return { debug: noop, info: noop, warn: line("warn"), error: line("error") };
}

function describe(fields: object): string {
  try {
    return JSON.stringify(fields, (_key, value) => (typeof value === "bigint" ? `${value}n` : value));
  } catch {
    return "(fields that cannot be shown)";
  }
}
