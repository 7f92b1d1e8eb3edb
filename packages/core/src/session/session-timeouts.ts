import { ConfigurationError, InvalidArgumentError } from "../errors.js";

/** A server's expiry settings, checked: every session store applies the same rules. */
export interface SessionTimeouts {
  readonly tickTime: number;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
}

/**
 * Fills in the defaults (`2 * tickTime` and `20 * tickTime`) and checks the settings: a tick
 * that is not a positive integer, a bound that is not positive and finite, or min > max is a
 * `ConfigurationError`.
 */
export function sessionTimeouts(options: Partial<SessionTimeouts> = {}): SessionTimeouts {
  const tickTime = options.tickTime ?? 2000;
  if (!Number.isInteger(tickTime) || tickTime <= 0) {
    throw new ConfigurationError(`tickTime must be a positive integer, got ${tickTime}`);
  }
  const min = options.minSessionTimeout ?? 2 * tickTime;
  const max = options.maxSessionTimeout ?? 20 * tickTime;
  for (const [name, value] of [
    ["minSessionTimeout", min],
    ["maxSessionTimeout", max],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new ConfigurationError(`${name} must be a positive finite number, got ${value}`);
    }
  }
  if (min > max) {
    throw new ConfigurationError(`minSessionTimeout (${min}) is greater than maxSessionTimeout (${max})`);
  }
  return { tickTime, minSessionTimeout: min, maxSessionTimeout: max };
}

/** Rounds a requested timeout to whole milliseconds and clamps it to `[minSessionTimeout, maxSessionTimeout]`. */
export function negotiateTimeout(requested: number, timeouts: SessionTimeouts): number {
  if (!Number.isFinite(requested)) {
    throw new InvalidArgumentError(`requested timeout must be finite, got ${requested}`);
  }
  return Math.min(timeouts.maxSessionTimeout, Math.max(timeouts.minSessionTimeout, Math.round(requested)));
}
